"""Single steps on their own (`pipeline package`, `apply`, `verify`), for a person or a Dagger
function that needs just one. They reuse the promotion's stages; nothing here is a second
implementation of a step."""

from pathlib import Path

from pipeline.adapters import target, terraform
from pipeline.errors import RefusedError
from pipeline.promotion import follow_on
from pipeline.promotion.first import Promotion
from pipeline.promotion.follow_on import FollowOnPromotion
from pipeline.promotion.recorded import Listener, Outcome, RecordedRun
from pipeline.stages import packaging, rotation, verify
from pipeline.stages import unit_test as unit_test_stage
from pipeline.state import project, source
from pipeline.state.ledger import Ledger


def package(repo: Path, listener: Listener, out: Path | None) -> Outcome:
    state = project.state_dir(repo)
    src = source.read(repo)
    run = RecordedRun(state, "package", {"sha": src.sha, "out": str(out or "")}, listener,
                      env="-", target="local", sha=src.sha)  # fmt: skip
    destination = out or state / "artifacts" / src.sha
    with run.stages(f"{src.short} packaged in {destination}"), run.runner.stage("package") as log:
        _, manifest, log.detail = packaging.build(repo, state, src, destination)
        run.record.data["manifest"] = manifest
    return run.finish()


def unit_test(repo: Path, listener: Listener) -> Outcome:
    """The unit-test stage alone, never from the cache, with a run record of its own (the Dagger
    module runs it in a container of its own and exports that record when it fails)."""
    state = project.state_dir(repo)
    src = source.read(repo)
    run = RecordedRun(state, "unit-test", {"sha": src.sha}, listener,
                      env="-", target="local", sha=src.sha)  # fmt: skip
    with run.stages(f"{src.short}: unit tests passed"), run.runner.stage("unit-test") as log:
        unit_test_stage.run(repo, state, log, use_cache=False)
    return run.finish()


def apply(
    repo: Path, env: str, listener: Listener, kind: str | None, artifacts: Path | None = None
) -> Outcome:
    """Put the sha's artifact in the environment and `terraform apply`; `live` does not move.
    A follow-on environment takes only what the one before it validated, under its lock."""
    state = project.state_dir(repo)
    src = source.read(repo)
    tgt = target.resolve(repo, state, env, kind)
    assert tgt is not None
    run = RecordedRun(state, "apply", {"env": env, "sha": src.sha, "target": tgt.kind}, listener,
                      env=env, target=tgt.kind, sha=src.sha)  # fmt: skip
    source_env = project.promotion_order(repo).predecessor(env)
    with run.stages(f"{src.short} applied to {env} ({tgt.kind}); live unchanged"):
        if source_env:
            follow_on.run(
                FollowOnPromotion(repo, state, env, src, tgt, run.record, run.runner),
                source_env, None, move_live=False,
            )  # fmt: skip
        else:
            first = Promotion(repo, state, env, src, tgt, run.record, run.runner,
                              supplied=artifacts)  # fmt: skip
            first.package()
            first.upload()
            first.plan()
            first.apply()
    return run.finish()


def verify_live(repo: Path, env: str, listener: Listener, kind: str | None) -> Outcome:
    """The suites against what the environment runs now; a pass validates the live sha there.
    Protected environments (prod) get the canary suite without its disruptive test."""
    state = project.state_dir(repo)
    tgt = target.resolve(repo, state, env, kind, start=False)
    if tgt is None:
        raise RefusedError(f"the emulator is not running, so nothing is deployed to {env}")
    ledger = Ledger(tgt, env)
    current = ledger.last_good() if ledger.exists() else None
    if current is None:
        raise RefusedError(f"{env} has no successful deployment to verify; promote one first")
    sha = current["sha"]
    run = RecordedRun(state, "verify", {"env": env, "sha": sha, "target": tgt.kind}, listener,
                      env=env, target=tgt.kind, sha=sha)  # fmt: skip
    protected = env in project.promotion_order(repo).protected
    scope = (
        verify.Scope(suites=("canary",), shas=(sha,), markers=verify.NOT_DISRUPTIVE)
        if protected
        else verify.Scope(shas=(sha,))
    )
    validated = f"{sha[:12]} verified in {env} ({tgt.kind}) and validated"
    with run.stages(validated), run.runner.stage("verify") as log:
        workspace = terraform.Workspace.prepare(repo, state, env, tgt)
        workspace.init(log)
        outputs = workspace.outputs(log)
        results = verify.verify(repo, state, env, tgt, outputs, run.record.directory / "verify",
                                log, scope)  # fmt: skip
        run.record.data["verify"] = [result.to_json() for result in results]
        ledger.mark_validated(sha, current["digests"], run.record.data["id"])
    return run.finish()


def rotate_secret(repo: Path, env: str, name: str, listener: Listener, kind: str | None) -> Outcome:
    """A new value for one of the environment's generated keys, as its deployer."""
    state = project.state_dir(repo)
    secret = rotation.secret_id(repo, env, name)
    tgt = target.resolve(repo, state, env, kind, start=False)
    if tgt is None:
        raise RefusedError(f"the emulator is not running, so {env} has no keys to rotate")
    run = RecordedRun(state, "rotate-secret", {"env": env, "secret": name, "target": tgt.kind},
                      listener, env=env, target=tgt.kind, sha="-")  # fmt: skip
    rotated = f"{name} key of {env} ({tgt.kind}) rotated"
    with run.stages(rotated), run.runner.stage("rotate") as log:
        rotation.rotate(repo, state, env, tgt, secret, log)
    return run.finish()

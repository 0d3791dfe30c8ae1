"""Single steps on their own (`pipeline package`, `apply`, `verify`), for a person or a Dagger
function that needs just one. They reuse the promotion's stages; nothing here is a second
implementation of a step."""

import time
from pathlib import Path

from pipeline.adapters import aws_errors, target, terraform
from pipeline.errors import PipelineError, RefusedError
from pipeline.promotion import follow_on, job_summary, orchestrator
from pipeline.promotion.first import Promotion
from pipeline.promotion.recorded import Listener, StageRunner
from pipeline.stages import packaging, traffic, verify
from pipeline.stages import unit_test as unit_test_stage
from pipeline.state import project, source
from pipeline.state.ledger import Ledger
from pipeline.state.run_record import RunRecord


def _finish(record: RunRecord, runner: StageRunner, env: str, kind: str, sha: str, started: float,
            exit_code: int, message: str) -> orchestrator.Outcome:  # fmt: skip
    record.finish(orchestrator.run_result(exit_code), exit_code, message=message,
                  seconds=round(time.monotonic() - started, 3))  # fmt: skip
    job_summary.append_run(record.data)
    stages = [r.to_json() for r in runner.results]
    return orchestrator.Outcome(env, kind, sha, exit_code, message, record.path, stages)


def package(repo: Path, listener: Listener, out: Path | None) -> orchestrator.Outcome:
    state = project.state_dir(repo)
    src = source.read(repo)
    record = RunRecord.create(state, "package", {"sha": src.sha, "out": str(out or "")})
    runner = StageRunner(listener, record.add_stage, aws_errors.translate)
    started = time.monotonic()
    destination = out or state / "artifacts" / src.sha
    exit_code, message = 0, f"{src.short} packaged in {destination}"
    try:
        with runner.stage("package") as log:
            _, manifest, log.detail = packaging.build(repo, state, src, destination)
            record.data["manifest"] = manifest
    except PipelineError as exc:
        exit_code, message = exc.exit_code, str(exc)
    return _finish(record, runner, "-", "local", src.sha, started, exit_code, message)


def unit_test(repo: Path, listener: Listener) -> orchestrator.Outcome:
    """The unit-test stage alone, never from the cache, with a run record of its own (the Dagger
    module runs it in a container of its own and exports that record when it fails)."""
    state = project.state_dir(repo)
    src = source.read(repo)
    record = RunRecord.create(state, "unit-test", {"sha": src.sha})
    runner = StageRunner(listener, record.add_stage, aws_errors.translate)
    started = time.monotonic()
    exit_code, message = 0, f"{src.short}: unit tests passed"
    try:
        with runner.stage("unit-test") as log:
            unit_test_stage.run(repo, state, log, use_cache=False)
    except PipelineError as exc:
        exit_code, message = exc.exit_code, str(exc)
    return _finish(record, runner, "-", "local", src.sha, started, exit_code, message)


def apply(
    repo: Path, env: str, listener: Listener, kind: str | None, artifacts: Path | None = None
) -> orchestrator.Outcome:
    """Put the sha's artifact in the environment and `terraform apply`; `live` does not move.
    A follow-on environment takes only what the one before it validated, under its lock."""
    state = project.state_dir(repo)
    src = source.read(repo)
    tgt = target.resolve(repo, state, env, kind)
    assert tgt is not None
    record = RunRecord.create(state, "apply", {"env": env, "sha": src.sha, "target": tgt.kind})
    runner = StageRunner(listener, record.add_stage, aws_errors.translate)
    source_env = follow_on.predecessor(repo, env)
    started = time.monotonic()
    exit_code, message = 0, f"{src.short} applied to {env} ({tgt.kind}); live unchanged"
    try:
        if source_env:
            run = follow_on.ProductionPromotion(repo, state, env, src, tgt, record, runner)
            try:
                run.preconditions(source_env, None)
                run.lock(traffic.load_plan(repo, tgt.kind).lock_seconds)
                run.copy()
                run.apply()
            finally:
                run.release()
        else:
            first = Promotion(repo, state, env, src, tgt, record, runner, supplied=artifacts)
            first.package()
            first.upload()
            first.apply()
    except PipelineError as exc:
        exit_code, message = exc.exit_code, str(exc)
    return _finish(record, runner, env, tgt.kind, src.sha, started, exit_code, message)


def verify_live(repo: Path, env: str, listener: Listener, kind: str | None) -> orchestrator.Outcome:
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
    record = RunRecord.create(state, "verify", {"env": env, "sha": sha, "target": tgt.kind})
    runner = StageRunner(listener, record.add_stage, aws_errors.translate)
    started = time.monotonic()
    exit_code, message = 0, f"{sha[:12]} verified in {env} ({tgt.kind}) and validated"
    protected = env in project.protected_environments(repo)
    scope = (
        verify.Scope(suites=("canary",), shas=(sha,), markers=verify.NOT_DISRUPTIVE)
        if protected
        else verify.Scope(shas=(sha,))
    )
    try:
        with runner.stage("verify") as log:
            workspace = terraform.Workspace.prepare(repo, state, env, tgt)
            workspace.init(log)
            outputs = workspace.outputs(log)
            results = verify.verify(repo, state, env, tgt, outputs, record.directory / "verify",
                                    log, scope)  # fmt: skip
            record.data["verify"] = [result.to_json() for result in results]
            ledger.mark_validated(sha, current["digests"], record.data["id"])
    except PipelineError as exc:
        exit_code, message = exc.exit_code, str(exc)
    return _finish(record, runner, env, tgt.kind, sha, started, exit_code, message)

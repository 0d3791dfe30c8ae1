"""Every Dagger function, executed: the module's own code builds its graph, the executor runs it
in bubblewrap sandboxes (tests/dagger/executor), and each test asserts the real results.

The emulated sequence a laptop user runs (`emulator up`, then promote preprod, promote prod,
status, history, metrics, rollback and replay, each a separate call) shares one moto server
through `--emulator-endpoint`, as the README's Dagger section shows."""

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from dagger import dag

import newsflow.main
from pipeline.adapters import emulator
from pipeline.adapters.target import DEFAULT_REGION, Target
from tests.advisories import osv
from tests.dagger.conftest import CREDENTIALS, REPO
from tests.dagger.executor import container
from tests.dagger.executor.calls import Dagger, Result, registered
from tests.dagger.executor.session import Engine
from tests.http_server import serving
from tests.runner import Cli, clone

pytestmark = pytest.mark.dagger
EVENTS = REPO / "fixtures" / "github" / "events"
AT = "2026-11-18T12:00:00+00:00"
AWS_ARGS = {"aws_access_key_id": "env://AWS_ACCESS_KEY_ID",
            "aws_secret_access_key": "env://AWS_SECRET_ACCESS_KEY"}  # fmt: skip


def head(repo: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def host_cli(repo: Path, state: Path, *args: str) -> subprocess.CompletedProcess:
    """The same verb through the local CLI, on the host, in the same clone."""
    return Cli(repo, state).run(*args)


def outcome(result: Result) -> dict[str, Any]:
    assert result.exported, result.output
    return json.loads((result.exported / "outcome.json").read_text())


def json_tail(output: str) -> Any:
    """The JSON document a `--json` verb printed last (after the step's progress lines)."""
    start = output.index("\n{") + 1 if not output.startswith("{") else 0
    return json.loads(output[start:].split("\nexit code")[0])


def assert_clean_build(manifest: dict[str, Any], repo: Path) -> None:
    """The artifact is the commit's own: a source the engine uploaded dirty would say so."""
    assert manifest["sha"] == head(repo) and manifest["dirty"] is False, manifest["sha"]


# -- the source ------------------------------------------------------------------------------


def filtered(engine: Engine, repo: Path, ignore: list[str]) -> set[str]:
    directory = engine.store.directory_from(repo, ignore)
    return {p.relative_to(directory.path).as_posix() for p in directory.path.rglob("*")
            if p.is_file()}  # fmt: skip


def tracked(repo: Path) -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True,
                            check=True).stdout.split()  # fmt: skip
    return set(listed)


def test_the_uploaded_source_is_every_tracked_file_and_no_local_state(
    engine: Engine, tmp_path: Path
) -> None:
    repo = clone(REPO, tmp_path / "repo")
    for junk in (".venv/bin/python", ".pipeline/runs/x.json", "lambdas/common/__pycache__/a.pyc",
                 "terraform/.terraform/providers/p"):  # fmt: skip
        (repo / junk).parent.mkdir(parents=True, exist_ok=True)
        (repo / junk).write_text("local state")
    kept = filtered(engine, repo, newsflow.main.SOURCE)
    assert tracked(repo) <= kept, sorted(tracked(repo) - kept)
    assert not {p for p in kept if not p.startswith(".git/")} - tracked(repo)


def test_a_tracked_file_left_out_by_ignore_makes_every_artifact_dirty(
    engine: Engine, repo: Path, tmp_path: Path
) -> None:
    """The module as it was: `.github/` filtered out, so `git status` in the container is never
    clean. The same check the package test makes must catch it."""
    newsflow.main.SOURCE.append(".github")  # the registered Ignore holds this very list
    try:
        result = Dagger(engine, repo).call("package", then=("export", str(tmp_path / "dist")))
    finally:
        newsflow.main.SOURCE.remove(".github")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "dist" / "manifest.json").read_text())
    assert manifest["sha"].endswith("-dirty")
    with pytest.raises(AssertionError):
        assert_clean_build(manifest, repo)


# -- hermetic steps --------------------------------------------------------------------------


def test_unit_test_passes_in_a_container_with_no_emulator_and_no_secret(
    dagger_cli: Dagger, engine: Engine
) -> None:
    result = dagger_cli.call("unit-test")
    assert result.exit_code == 0, result.output
    assert " passed" in result.output and "failed" not in result.output
    [tested] = [r for r in engine.executed if r.args[:2] == ["./pipeline", "unit-test"]]
    targeting = {k for k in tested.env if k.startswith(("PIPELINE_TARGET", "PIPELINE_EMULATOR"))}
    assert not tested.secrets and not targeting, targeting


def test_unit_test_fails_on_a_broken_lambda_test(engine: Engine, tmp_path: Path) -> None:
    broken = clone(REPO, tmp_path / "broken")
    test = broken / "tests" / "unit" / "test_analysis.py"
    test.write_text(test.read_text() + "\n\ndef test_broken() -> None:\n    assert 1 == 2\n")
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "break"],
                   cwd=broken, check=True)  # fmt: skip
    result = Dagger(engine, broken).call("unit-test")
    assert result.exit_code == 1 and "1 failed" in result.output, result.output


def test_package_exports_the_cli_s_bytes(dagger_cli: Dagger, repo: Path, tmp_path: Path) -> None:
    result = dagger_cli.call("package", then=("export", str(tmp_path / "dist")))
    assert result.exit_code == 0, result.output
    local = tmp_path / "local"
    done = host_cli(repo, tmp_path / "state", "package", "--out", str(local))
    assert done.returncode == 0, done.stderr

    def digests(directory: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}

    assert digests(tmp_path / "dist") == digests(local)
    assert_clean_build(json.loads((local / "manifest.json").read_text()), repo)


def test_unit_test_and_package_chains_are_the_same_on_every_call(
    engine: Engine, repo: Path
) -> None:
    """No credential, invocation id or clock in them: the engine caches them by content."""

    def chains(**module_args: Any) -> tuple[str, str]:
        async def build() -> tuple[str, str]:
            source = Dagger(engine, repo).source()
            secrets = {k: dag.set_secret(k, v) for k, v in module_args.items()}
            module = registered().cls(source=source, **secrets)
            ids = [await module.unit_tested().id(), await module.packaged().id()]
            return tuple(engine.load(i).digest for i in ids)

        return anyio.run(build)

    plain = chains()
    with_credentials = chains(aws_access_key_id="AKIA1", aws_secret_access_key="s3cr3t")
    assert plain == chains() == with_credentials


# -- gate ------------------------------------------------------------------------------------


def test_gate_prints_the_cli_s_decision(dagger_cli: Dagger, repo: Path, tmp_path: Path) -> None:
    event = EVENTS / "human.json"
    result = dagger_cli.call("gate", event=str(event), at=AT)
    assert result.exit_code == 0, result.output
    done = host_cli(repo, tmp_path, "gate", "--event", str(event), "--at", AT)
    assert json.loads(result.output) == json.loads(done.stdout)


def test_gate_decides_at_each_call_s_own_time(dagger_cli: Dagger, engine: Engine) -> None:
    before = len(engine.executed)
    for _ in range(2):
        assert dagger_cli.call("gate", event=str(EVENTS / "human.json")).exit_code == 0
    gates = [r.args for r in engine.executed[before:] if r.args[:2] == ["./pipeline", "gate"]]
    assert len(gates) == 2 and all("--at" in args for args in gates), gates


def test_gate_rejects_a_malformed_event_clearly(dagger_cli: Dagger) -> None:
    result = dagger_cli.call("gate", event=str(EVENTS / "malformed.json"), at=AT)
    assert result.exit_code == 1 and "exit code: 2" in result.output
    assert "Traceback" not in result.output


# -- the emulated sequence, one moto behind every call ---------------------------------------


@pytest.fixture(scope="module")
def world(dagger_cli: Dagger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    port = emulator.free_port()
    up = dagger_cli.call("emulator", then=("up", f"{port}:5000"))
    assert up.exit_code == 0, up.output
    shared = {"emulator_endpoint": f"tcp://localhost:{port}"}
    out = tmp_path_factory.mktemp("runs")

    def call(function: str, **args: Any) -> Result:
        name = "-".join([function, *(str(v)[:8] for v in args.values())])
        then = ("export", str(out / name)) if function == "promote" else ()
        return dagger_cli.call(function, module_args=shared, then=then, **args)

    yield {
        "call": call,
        "emulator_endpoint": shared["emulator_endpoint"],
        "preprod": call("promote", env="preprod"),
        "prod refused": call("promote", env="prod"),
        "prod": call("promote", env="prod", approve="alice: reviewed PR 42"),
    }


def test_promote_preprod_returns_its_record_with_a_clean_validated_sha(
    world: dict, repo: Path
) -> None:
    result = world["preprod"]
    assert outcome(result)["exit_code"] == 0, outcome(result)["message"]
    assert {p.name for p in result.exported.iterdir()} == {"run.json", "outcome.json",
                                                           "summary.md"}  # fmt: skip
    record = json.loads((result.exported / "run.json").read_text())
    assert record["inputs"]["sha"] == head(repo) and not record["inputs"]["dirty"]
    stages = {s["name"]: s for s in record["stages"]}
    # The deploy container neither tested nor built: it took the hermetic containers' work.
    assert stages["unit-test"]["detail"].startswith("cached pass"), stages["unit-test"]
    assert "supplied" in stages["package"]["detail"], stages["package"]
    assert stages["verify"]["status"] == "ok"


def test_apply_and_verify_run_against_the_promoted_environment(world: dict, repo: Path) -> None:
    applied = world["call"]("apply", env="preprod")
    assert applied.exit_code == 0, applied.output
    assert "zips supplied in /artifacts" in applied.output and "✓ apply" in applied.output
    verified = world["call"]("verify", env="preprod")
    assert verified.exit_code == 0, verified.output
    assert "✓ verify" in verified.output and head(repo)[:12] in verified.output


def test_a_refused_promotion_returns_its_outcome(world: dict) -> None:
    refused = outcome(world["prod refused"])
    assert refused["exit_code"] == 3 and "requires an approval" in refused["message"]


def test_an_environment_no_tfvars_defines_gets_the_cli_s_error(world: dict) -> None:
    result = outcome(world["call"]("promote", env="staging"))
    assert result["exit_code"] == 2, result
    assert result["message"].startswith("unknown environment 'staging'; valid environments are: ")
    history = world["call"]("history", env="staging")
    assert history.exit_code == 1 and "unknown environment 'staging'" in history.output


def test_a_malformed_approval_is_refused_with_its_outcome(world: dict) -> None:
    result = outcome(world["call"]("promote", env="prod", approve="nobody"))
    assert result["exit_code"] == 2 and "NAME: REASON" in result["message"], result
    assert "Traceback" not in result["message"]


def test_a_following_call_promotes_what_preprod_validated(world: dict, repo: Path) -> None:
    result = outcome(world["prod"])
    assert result["exit_code"] == 0, result["message"]
    assert result["sha"] == head(repo) and "100% live" in result["message"]


def test_status_history_and_metrics_see_the_shared_emulator(world: dict, repo: Path) -> None:
    status = world["call"]("status")
    assert status.exit_code == 0, status.output
    rows = {row["env"]: row for row in json_tail(status.output)["environments"]}
    assert rows["prod"]["sha"] == rows["preprod"]["sha"] == head(repo)
    assert head(repo) in rows["preprod"]["validated"]
    history = world["call"]("history", env="prod", limit=1)
    assert history.exit_code == 0, history.output
    [entry] = json_tail(history.output)["entries"]
    assert entry["sha"] == head(repo) and entry["result"] == "ok"
    metrics = json_tail(world["call"]("metrics").output)
    assert metrics["env"] == "prod" and metrics["deployments"] == 1, metrics


def test_rollback_refuses_without_a_previous_release_and_returns_with_to(
    world: dict, repo: Path
) -> None:
    refused = world["call"]("rollback", env="prod")
    assert refused.exit_code == 1 and "exit code 3" in refused.output, refused.output
    unknown = world["call"]("rollback", env="prod", to="0123456789ab")
    assert unknown.exit_code == 1 and "exit code 3" in unknown.output, unknown.output
    assert "0123456789ab" in unknown.output and "Traceback" not in unknown.output
    back = world["call"]("rollback", env="prod", to=head(repo))
    assert back.exit_code == 0, back.output
    assert json_tail(back.output)["sha"] == head(repo)


def test_rotate_secret_rotates_the_key_in_the_shared_emulator(world: dict) -> None:
    """As the environment's deployer, in the container: a new AWSCURRENT, the old value kept as
    AWSPREVIOUS, and neither in what the function returns. The NewsAPI key is refused."""
    endpoint = world["emulator_endpoint"].replace("tcp://", "http://")
    sm = Target("emulated", DEFAULT_REGION, endpoint).client("secretsmanager")
    before = sm.get_secret_value(SecretId="preprod-dashboard-api-key")["SecretString"]
    rotated = world["call"]("rotate-secret", env="preprod", name="dashboard")
    assert rotated.exit_code == 0, rotated.output
    after = sm.get_secret_value(SecretId="preprod-dashboard-api-key")["SecretString"]
    previous = sm.get_secret_value(SecretId="preprod-dashboard-api-key", VersionStage="AWSPREVIOUS")
    assert after != before and previous["SecretString"] == before
    assert before not in rotated.output and after not in rotated.output
    refused = world["call"]("rotate-secret", env="preprod", name="newsapi")
    assert refused.exit_code == 1 and "exit code 2" in refused.output, refused.output
    assert "comes from NewsAPI" in refused.output


def test_replay_reproduces_a_record_the_module_produced(world: dict, dagger_cli: Dagger) -> None:
    record = world["prod refused"].exported / "run.json"
    result = dagger_cli.call("replay", record=str(record))
    assert result.exit_code == 0, result.output
    assert json_tail(result.output)["reproduced"] is True


def test_a_wrong_emulator_endpoint_fails_the_call(
    world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = newsflow.main.Newsflow.targeting

    def wrong(self: Any, ctr: Any) -> Any:
        return original(self, ctr).with_env_variable("PIPELINE_EMULATOR_ENDPOINT",
                                                      "http://emulator:5999")  # fmt: skip

    monkeypatch.setattr(newsflow.main.Newsflow, "targeting", wrong)
    result = world["call"]("status")
    assert result.exit_code == 1 and "no emulator answers" in result.output, result.output


# -- credentials -----------------------------------------------------------------------------


def test_credentials_reach_only_the_deploy_container_and_only_as_secrets(
    dagger_cli: Dagger, engine: Engine, tmp_path: Path
) -> None:
    before = len(engine.executed)
    result = dagger_cli.call(
        "promote",
        module_args=AWS_ARGS,
        then=("export", str(tmp_path / "run")), env="preprod",
    )  # fmt: skip
    ran = engine.executed[before:]
    # unit-test and package came from the engine's cache: their chains hold no credentials.
    assert [r.args[:2] for r in ran] == [["./pipeline", "promote"]], [r.args for r in ran]
    [deploy] = ran
    assert set(deploy.secrets) == set(CREDENTIALS) and not set(CREDENTIALS) & set(deploy.env)
    assert deploy.env["PIPELINE_TARGET"] == "aws"
    assert engine.leaks() == []
    assert not any(v in deploy.stdout + deploy.stderr for v in CREDENTIALS.values())
    # The sandbox has no network: the promotion fails at AWS, and still returns its record.
    assert outcome(result)["exit_code"] == 1


def test_a_secret_passed_as_a_plain_variable_is_found(
    dagger_cli: Dagger, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = newsflow.main.Newsflow.targeting

    def plain(self: Any, ctr: Any) -> Any:  # a module that hands the key over in the clear
        value = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        return original(self, ctr).with_env_variable("AWS_SECRET_ACCESS_KEY_COPY", value)

    monkeypatch.setattr(newsflow.main.Newsflow, "targeting", plain)
    dagger_cli.call("status", module_args=AWS_ARGS)
    assert any("AWS_SECRET_ACCESS_KEY_COPY" in leak for leak in engine.leaks()), engine.leaks()


def test_an_unset_session_token_variable_is_refused_as_the_cli_refuses_it(
    dagger_cli: Dagger,
) -> None:
    result = dagger_cli.call("status", module_args={"aws_session_token": "env://AWS_SESSION_TOKEN"})
    assert result.exit_code == 1 and "AWS_SESSION_TOKEN not found" in result.output


# -- checks ----------------------------------------------------------------------------------


def test_lint(dagger_cli: Dagger) -> None:
    result = dagger_cli.call("lint")
    assert result.exit_code == 0 and "already formatted" in result.output, result.output


def test_static_checks(dagger_cli: Dagger) -> None:
    result = dagger_cli.call("static-checks")
    assert result.exit_code == 0, result.output[-3000:]
    assert " passed" in result.output and " failed" not in result.output


def test_audit_names_an_advisory_and_says_when_it_was_skipped(
    dagger_cli: Dagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit check as the engine runs it. Its container has this machine's network, where
    the advisory database is a stand-in on 127.0.0.1 (no call ever leaves the machine)."""
    hit = lambda name, version: (name, version) == ("requests", "2.32.5")  # noqa: E731
    with serving(osv(hit, [])) as url:
        monkeypatch.setitem(container.MACHINE_ENV, "PIPELINE_ADVISORY_URL", url)
        found = dagger_cli.call("audit")
    assert found.exit_code == 1, found.output[-2000:]
    assert "requests 2.32.5: GHSA-9wx4-h78v-vm56" in found.output
    # The stand-in has stopped: nothing answers, so nothing was checked, and the check says so.
    skipped = dagger_cli.call("audit")
    assert skipped.exit_code == 0, skipped.output[-2000:]
    assert "skipped: no advisory database reachable" in skipped.output


def test_the_test_check_runs_the_suite_in_its_container_sandboxes_included(
    dagger_cli: Dagger, engine: Engine
) -> None:
    """`dagger check` runs `./pipeline test` whole; here, a selection (the whole suite is what
    runs this test). It includes a test of tests/dagger, which validates against the schema the
    engine gave the check and runs the module in sandboxes inside the check's own sandbox."""
    selection = ["tests/gate/test_freeze.py", "tests/dagger/test_execution.py::test_lint"]
    result = dagger_cli.call("test", pytest_args=selection)
    assert result.exit_code == 0, result.output[-3000:]
    assert "All checks passed!" in result.output and "Contracts: 3 kept" in result.output
    # test_freeze's six cases and test_lint, which ran the module in sandboxes of its own.
    assert " 7 passed" in result.output and "failed" not in result.output, result.output[-3000:]
    [tested] = [r for r in engine.executed if r.args == ["./pipeline", "test", *selection]]
    assert not tested.secrets
    assert tested.env["NEWSFLOW_DAGGER_SCHEMA"] == newsflow.main.SCHEMA_FILE


def test_the_test_check_fails_on_a_failing_test(engine: Engine, tmp_path: Path) -> None:
    broken = clone(REPO, tmp_path / "broken")
    planted = broken / "tests" / "gate" / "test_planted.py"
    planted.write_text("def test_planted() -> None:\n    assert 1 == 2, 'planted failure'\n")
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "add", "."], cwd=broken,
                   check=True)  # fmt: skip
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "plant"],
                   cwd=broken, check=True)  # fmt: skip
    result = Dagger(engine, broken).call("test", pytest_args=["tests/gate/test_planted.py"])
    assert result.exit_code == 1, result.output[-3000:]
    assert "planted failure" in result.output and "1 failed" in result.output

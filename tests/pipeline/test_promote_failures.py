"""Failure paths of `promote`: nothing deployed on red tests, digests checked before `live`
moves, and preconditions refused before any work."""

import json
from pathlib import Path

import pytest

from pipeline.adapters import aws_errors
from pipeline.errors import StageFailedError
from pipeline.promotion import first
from pipeline.promotion.recorded import StageRunner
from pipeline.stages import deploy
from pipeline.state import source
from pipeline.state.run_record import RunRecord
from tests.runner import Cli, clone, commit

pytestmark = pytest.mark.pipeline


def test_failing_unit_tests_deploy_nothing(repo_clone: Path, tmp_path: Path) -> None:
    broken = clone(repo_clone, tmp_path / "broken")
    handler = broken / "lambdas" / "analysis" / "news_analysis" / "sentiment.py"
    commit(broken, str(handler.relative_to(broken)), handler.read_text().replace(
        'label = "positive"', 'label = "negative"'))  # fmt: skip
    runner = Cli(broken, tmp_path / "state", {})
    try:
        code, outcome = runner.json("promote", "--env", "preprod")
        assert code == 1
        status = {s["name"]: s["status"] for s in outcome["stages"]}
        assert status["gate"] == "ok" and status["unit-test"] == "failed"
        # The build ran alongside the tests; nothing that changes the environment did.
        assert not {"apply", "deploy", "verify"} & set(status)
        assert [s for s in status.values() if s != "ok"] == ["failed"]
        assert "unit tests failed" in outcome["message"]
        assert "nothing was applied or deployed" in outcome["message"]
        assert runner.target().client("lambda").list_functions()["Functions"] == []

        # Scenario 10: the run record alone reproduces the failure offline.
        done = runner.run("replay", outcome["run_record"], "--json")
        replayed = json.loads(done.stdout)
        assert done.returncode == 0, replayed
        # Where the recorded run's time went comes first: its stages on one time axis.
        assert "the recorded run's stages:" in done.stderr
        assert "* critical path, ▒ did not pass" in done.stderr
        assert replayed["reproduced"] is True and replayed["first_difference"] is None
        assert replayed["recorded_failing_stage"] == replayed["replayed_failing_stage"]
        assert replayed["replayed_failing_stage"] == "unit-test"
    finally:
        runner.stop()


def test_digest_mismatch_is_refused_and_live_stays(
    deployed_preprod: dict, cli: Cli, tmp_path: Path
) -> None:
    work = clone(cli.repo, tmp_path / "next")
    init = work / "lambdas" / "canary" / "news_canary" / "__init__.py"
    commit(work, str(init.relative_to(work)), init.read_text() + "# next release\n")
    tgt = cli.target()
    record = RunRecord.create(tmp_path, "test", {})
    run = first.Promotion(
        work, cli.state, "preprod", source.read(work), tgt, record,
        StageRunner(translate=aws_errors.translate),
    )  # fmt: skip
    run.package()
    run.upload()
    key = f"{run.src.sha}/canary.zip"
    tgt.client("s3").put_object(Bucket=run.bucket, Key=key, Body=b"tampered" + b"\0" * 100)
    run.plan()
    run.apply()
    with pytest.raises(StageFailedError, match="digest mismatch, live not moved"):
        run.deploy()
    lam = tgt.client("lambda")
    live = {fn: lam.get_alias(FunctionName=f"preprod-{fn}", Name="live")["FunctionVersion"]
            for fn in deployed_preprod["versions"]}  # fmt: skip
    current = cli.ledger().last_good()
    assert current is not None
    assert live == current["versions"]


def test_dirty_tree_is_refused_for_prod(repo_clone: Path, tmp_path: Path) -> None:
    dirty = clone(repo_clone, tmp_path / "dirty")
    (dirty / "README.md").write_text("local edit\n")
    done = Cli(dirty, tmp_path / "state", {}).run("promote", "--env", "prod")
    assert done.returncode == 3
    assert "uncommitted changes; prod only takes committed, clean builds" in done.stderr
    assert not (tmp_path / "state" / "emulator.json").exists()


def test_missing_terraform_says_how_to_provide_it(deployed_preprod: dict, cli: Cli) -> None:
    runner = Cli(cli.repo, cli.state, {"PIPELINE_TERRAFORM": "/nonexistent/terraform"})
    code, outcome = runner.json("promote", "--env", "preprod")
    assert code == 2
    assert "terraform is not on PATH" in outcome["message"]
    assert "dagger call promote" in outcome["message"]


def test_a_broken_lambda_fails_verify_and_is_not_validated(
    deployed_preprod: dict, cli: Cli, tmp_path: Path
) -> None:
    """Unit tests cannot catch everything: an analysis handler that raises in AWS's runtime only
    shows when the deployed environment is exercised end to end."""
    work = clone(cli.repo, tmp_path / "broken")
    handler = work / "lambdas" / "analysis" / "news_analysis" / "handler.py"
    signature = (
        "def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:\n"
    )
    text = handler.read_text().replace("import json\n", "import json\nimport os\n", 1)
    text = text.replace(
        signature,
        signature + '    if os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"):\n'
        '        raise RuntimeError("broken in the deployed runtime only")\n',
    )
    assert "broken in the deployed runtime only" in text
    commit(work, str(handler.relative_to(work)), text)
    sha = source.read(work).sha
    broken = Cli(work, cli.state, {})
    lam = cli.target().client("lambda")
    names = {fn: f"preprod-{fn}" for fn in deployed_preprod["versions"]}
    before = deploy.live_versions(cli.target(), names)
    try:
        code, outcome = broken.json("promote", "--env", "preprod")
        assert code == 1
        assert outcome["stages"][-2]["name"] == "verify"
        assert outcome["stages"][-2]["status"] == "failed"
        assert outcome["message"].startswith("verify failed for preprod: tests/verify/integration/")
        assert "the artifact is not validated" in outcome["message"]
        assert cli.ledger().validations(sha) == []
        latest = cli.ledger().deployments(limit=1)[0]
        assert (latest["sha"], latest["result"], latest["validated"]) == (sha, "failed", False)
        record = json.loads(Path(outcome["run_record"]).read_text())
        [integration] = [suite for suite in record["verify"] if suite["suite"] == "integration"]
        assert integration["failed"] and all("::test_" in test for test in integration["failed"])
        tail = "\n".join(record["stages"][-2]["log_tail"])
        assert "broken in the deployed runtime only" in tail or "analyzed" in tail

        # Scenario 3: what preprod did not validate, prod refuses.
        code, refused = broken.json("promote", "--env", "prod", "--approve", "x: try anyway")
        assert code == 3
        assert f"{sha[:12]} is not validated in preprod" in refused["message"]
    finally:
        deploy.move_alias(cli.target(), names, before)  # later tests expect a healthy preprod
    assert {fn: lam.get_alias(FunctionName=n, Name="live")["FunctionVersion"]
            for fn, n in names.items()} == before  # fmt: skip

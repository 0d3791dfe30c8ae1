"""`promote --env preprod` end to end against the emulator it starts, through the real CLI.

The tests share this module's deployed environment (its own state and emulator) and run in
file order; no other module's tests touch it."""

import hashlib
import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path
from unittest import mock

import pytest

from pipeline.adapters import emulator
from pipeline.promotion import first as promotion_first
from pipeline.state import source
from tests.runner import Cli, failing_terraform

pytestmark = pytest.mark.pipeline
FIX = Path(__file__).resolve().parents[2] / "fixtures" / "github"


def in_graph_order(stages: list[dict]) -> list[str]:
    return sorted((s["name"] for s in stages), key=promotion_first.STAGE_ORDER.index)


@pytest.fixture
def first(deployed_preprod: dict) -> dict:
    return deployed_preprod


def test_promote_runs_its_graph(first: dict, cli: Cli) -> None:
    stages = {s["name"]: s for s in first["stages"]}
    assert in_graph_order(first["stages"]) == list(promotion_first.STAGE_ORDER)
    promotion = mock.create_autospec(promotion_first.Promotion, instance=True)
    graph = promotion_first.graph(promotion)
    # Each step is the Promotion method of its name; apply is the first that changes anything.
    assert graph[0].run == promotion.unit_test and graph[-1].run == promotion.verify
    assert {s.name: s.needs for s in graph}["apply"] == ("unit-test", "plan")
    at = {name: (datetime.fromisoformat(s["started_at"]), datetime.fromisoformat(s["finished_at"]))
          for name, s in stages.items()}  # fmt: skip
    for step in graph:  # nothing started before what it needs had passed
        for need in step.needs:
            assert at[need][1] <= at[step.name][0], (need, step.name)
    # The unit tests ran alongside the build, not before it.
    assert at["unit-test"][0] < at["package"][1] and at["package"][0] < at["unit-test"][1]
    assert at["apply"][0] >= max(at["unit-test"][1], at["plan"][1])
    assert {s["status"] for s in first["stages"]} == {"ok"}
    assert first["target"] == "emulated"
    assert first["sha"] == source.read(cli.repo).sha
    assert not first["sha"].endswith("-dirty")


def test_ledger_aliases_and_bucket_agree(first: dict, cli: Cli) -> None:
    tgt = cli.target()
    run_id = json.loads(Path(first["run_record"]).read_text())["id"]
    [entry] = [e for e in cli.ledger().deployments() if e["run_id"] == run_id]
    manifest = json.loads((cli.state / "artifacts" / first["sha"] / "manifest.json").read_text())
    assert entry["result"] == "ok"
    assert entry["sha"] == first["sha"] and entry["dirty"] is False
    assert entry["target"] == "emulated"
    assert entry["digests"] == {fn: m["sha256"] for fn, m in manifest["functions"].items()}
    assert in_graph_order(entry["stages"]) == list(promotion_first.STAGE_ORDER[:-1])
    lam, s3 = tgt.client("lambda"), tgt.client("s3")
    for fn, version in entry["versions"].items():
        alias = lam.get_alias(FunctionName=f"preprod-{fn}", Name="live")
        assert alias["FunctionVersion"] == version
        config = lam.get_function_configuration(FunctionName=f"preprod-{fn}", Qualifier=version)
        assert config["CodeSha256"] == manifest["functions"][fn]["code_sha256"]
    bucket = f"preprod-newsflow-packages-{tgt.client('sts').get_caller_identity()['Account']}"
    for fn, meta in manifest["functions"].items():
        body = s3.get_object(Bucket=bucket, Key=f"{first['sha']}/{fn}.zip")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == meta["sha256"]


def test_verify_ran_both_suites_and_validated_the_artifact(first: dict, cli: Cli) -> None:
    record = json.loads(Path(first["run_record"]).read_text())
    suites = {suite["suite"]: suite for suite in record["verify"]}
    assert set(suites) == {"integration", "canary"}
    assert suites["integration"]["passed"] >= 13 and suites["canary"]["passed"] >= 6
    assert all(not suite["failed"] and not suite["skipped"] for suite in suites.values())
    assert record["load"]["p95_ms"] < record["load"]["budget_p95_ms"]
    [validation] = [
        v for v in cli.ledger().validations(first["sha"]) if v["run_id"] == record["id"]
    ]
    assert validation["digests"] == {
        fn: meta["sha256"] for fn, meta in record["manifest"]["functions"].items()
    }
    assert "verified and validated" in first["message"]


def test_run_record_has_inputs_tools_and_stages(first: dict) -> None:
    record = json.loads(Path(first["run_record"]).read_text())
    assert record["inputs"]["sha"] == first["sha"]
    assert record["tools"]["terraform"].startswith("1.")
    assert in_graph_order(record["stages"]) == list(promotion_first.STAGE_ORDER)
    assert record["exit_code"] == 0


def test_status_reports_the_deployment(first: dict, cli: Cli) -> None:
    code, status = cli.json("status")
    assert code == 0
    preprod = status["environments"][0]
    assert preprod["state"] == "consistent"
    assert preprod["sha"] == first["sha"]
    assert preprod["versions"] == first["versions"]


def test_rerun_without_changes_reuses_everything_and_records_the_approval(
    first: dict, cli: Cli
) -> None:
    code, outcome = cli.json(
        "promote", "--env", "preprod",
        "--event", str(FIX / "events" / "dependabot_pip_major.json"),
        "--commits", str(FIX / "commits" / "dependabot_major.json"),
        "--approve", "alice: reviewed the urllib3 3.0 changelog",
    )  # fmt: skip
    assert code == 0, outcome["message"]
    details = {s["name"]: s["detail"] for s in outcome["stages"]}
    assert details["unit-test"].startswith("cached pass")
    assert "4 from cache" in details["package"]
    assert "0 uploaded" in details["upload"]
    assert details["apply"].startswith("no changes")
    assert outcome["versions"] == first["versions"]
    # Nothing changed since the first run validated these bytes: only the canary re-checks them.
    first_run = json.loads(Path(first["run_record"]).read_text())["id"]
    assert details["verify"].startswith(f"unchanged since run {first_run} validated")
    record = json.loads(Path(outcome["run_record"]).read_text())
    assert [suite["suite"] for suite in record["verify"]] == ["canary"]
    assert record["verify"][0]["passed"] >= 5 and record["verify_reused"] == first_run
    assert record["load"] is None
    assert [v["run_id"] for v in cli.ledger().validations(first["sha"])] == [first_run]
    latest = cli.ledger().deployments(limit=1)[0]
    assert latest["approval"] == {
        "approver": "alice",
        "reason": "reviewed the urllib3 3.0 changelog",
    }
    assert latest["decision"]["preprod"] == "manual" and latest["validated"] is True
    assert record["inputs"]["gate"]["event"]["pull_request"]["user"]["login"] == "dependabot[bot]"


def test_rotate_secret_keeps_the_old_key_and_the_environment_green(first: dict, cli: Cli) -> None:
    """A new AWSCURRENT, the old value as AWSPREVIOUS, neither printed; then every suite passes
    against the environment, the canary reading the new key from a dashboard that cached the
    old one. After the re-run test, whose reuse of the first run's validation this verify's own
    validation would replace."""
    secret = "preprod-dashboard-api-key"
    sm = cli.target().client("secretsmanager")
    before = sm.get_secret_value(SecretId=secret)["SecretString"]
    done = cli.run("rotate-secret", "--env", "preprod", "dashboard", "--json")
    assert done.returncode == 0, done.stderr
    after = sm.get_secret_value(SecretId=secret)["SecretString"]
    assert after != before
    assert sm.get_secret_value(SecretId=secret, VersionStage="AWSPREVIOUS")["SecretString"] == (
        before
    )
    outcome = json.loads(done.stdout)
    record = Path(outcome["run_record"]).read_text()
    for value in (before, after):
        assert value not in done.stdout + done.stderr and value not in record
    assert json.loads((cli.state / "secrets" / "preprod.json").read_text())["dashboard"] == after
    code, verified = cli.json("verify", "--env", "preprod")
    assert code == 0, verified["message"]


def test_terraform_failure_is_recorded_and_live_unchanged(
    first: dict, cli: Cli, tmp_path: Path
) -> None:
    wrapper = failing_terraform(tmp_path, "injected plan failure")
    failing = Cli(cli.repo, cli.state, {"PIPELINE_TERRAFORM": str(wrapper)})
    code, outcome = failing.json("promote", "--env", "preprod")
    assert code == 1
    assert "injected plan failure" in outcome["message"]
    assert [s["status"] for s in outcome["stages"]][-2:] == ["failed", "ok"]
    latest = cli.ledger().deployments(limit=1)[0]
    assert latest["result"] == "failed"
    assert "injected plan failure" in latest["message"]
    live = {
        fn: cli.target()
        .client("lambda")
        .get_alias(FunctionName=f"preprod-{fn}", Name="live")["FunctionVersion"]
        for fn in first["versions"]
    }
    assert live == first["versions"]


def test_killing_the_emulator_mid_run_fails_clearly_then_converges(first: dict, cli: Cli) -> None:
    earlier = set((cli.state / "runs").glob("*/run.json"))
    process = cli.start("promote", "--env", "preprod", "--json")
    running = emulator.load(cli.state)
    assert running is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = sorted(set((cli.state / "runs").glob("*/run.json")) - earlier)
        stages = json.loads(runs[-1].read_text())["stages"] if runs else []
        if any(s["name"] == "package" for s in stages):
            break
        time.sleep(0.2)
    os.kill(running.pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 1
    assert "Traceback" not in stderr
    outcome = json.loads(stdout)
    assert "upload failed because the emulator stopped during the run" in outcome["message"]
    assert [s["name"] for s in outcome["stages"]][-1] == "upload"

    code, again = cli.json("promote", "--env", "preprod")
    assert code == 0, again["message"]
    assert [s["status"] for s in again["stages"]] == ["ok"] * len(promotion_first.STAGE_ORDER)


@pytest.mark.parametrize(
    ("event", "commits", "expected"),
    [
        ("dependabot_pip_major", "dependabot_major", "the gate requires an approval for preprod"),
        ("dependabot_other_base", "dependabot_patch", "the gate blocks preprod"),
    ],
)
def test_gate_refusal_exits_3_before_anything_runs(
    cli: Cli, event: str, commits: str, expected: str
) -> None:
    code, outcome = cli.json(
        "promote", "--env", "preprod",
        "--event", str(FIX / "events" / f"{event}.json"),
        "--commits", str(FIX / "commits" / f"{commits}.json"),
        "--at", "2026-11-18T12:00:00+00:00",
    )  # fmt: skip
    assert code == 3
    assert expected in outcome["message"]
    assert [(s["name"], s["status"]) for s in outcome["stages"]] == [("gate", "refused")]
    record = json.loads(Path(outcome["run_record"]).read_text())
    assert record["decision"]["preprod"] in {"manual", "block"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--env", "staging"],
            "unknown environment 'staging'; valid environments are: preprod, prod",
        ),
        (["--env", "preprod", "--approve", "no reason"], 'must be "NAME: REASON"'),
        (["--env", "preprod", "--event", "/nonexistent.json"], "cannot read the event file"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(cli: Cli, args: list[str], message: str) -> None:
    done = cli.run("promote", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr

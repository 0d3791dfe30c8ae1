"""Production promotion against the emulator: the gate, preconditions, the lock, progressive
traffic with verification, automatic rollback and the rollback command.

The tests share this module's emulated preprod and prod and run in file order: each release
builds on the prod the one before it left. The alarm test goes last because an alarm stays in
ALARM for its 5-minute evaluation period."""

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.adapters import emulator
from pipeline.runtime.functions import Runtime
from pipeline.stages import deploy, traffic
from pipeline.state.ledger import LOCK, Ledger
from tests.http_server import Webhook, webhook
from tests.runner import Cli, clone, commit, failing_terraform

pytestmark = pytest.mark.pipeline
FIX = Path(__file__).resolve().parents[2] / "fixtures" / "github"
WEEKDAY = "2026-11-18T12:00:00+00:00"  # outside the weekend freeze
FUNCTIONS = ("analysis", "canary", "dashboard", "ingestion")
SECURITY = [
    "--event", str(FIX / "events" / "dependabot_pip_security.json"),
    "--commits", str(FIX / "commits" / "dependabot_patch.json"),
    "--metadata", str(FIX / "metadata" / "security_patch.json"),
    "--at", WEEKDAY,
]  # fmt: skip
HUMAN = [
    "--event", str(FIX / "events" / "human.json"),
    "--commits", str(FIX / "commits" / "human.json"),
    "--at", WEEKDAY,
]  # fmt: skip
NAMES = {fn: f"prod-{fn}" for fn in FUNCTIONS}
# A release that changes no Lambda code reuses the cached unit-test pass and zips, so it costs
# only the apply and the verification.
NOTES = "README.md"
DASHBOARD = "lambdas/dashboard/news_dashboard/handler.py"


def release(cli: Cli, where: Path, path: str, change: Callable[[str], str]) -> Cli:
    """A new commit on top of the clone, promoted with this module's state."""
    work = clone(cli.repo, where)
    commit(work, path, change((work / path).read_text()))
    return Cli(work, cli.state, {})


def sha_of(runner: Cli) -> str:
    return subprocess.run(["git", "-C", str(runner.repo), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip


def live(cli: Cli) -> dict[str, str]:
    return deploy.live_versions(cli.target(), NAMES)


def prod_ledger(cli: Cli) -> Ledger:
    return cli.ledger("prod")


def health_version(cli: Cli) -> str:
    """Invoke prod's dashboard through `live`, as a request to its URL would."""
    key = json.loads((cli.state / "secrets" / "prod.json").read_text())["dashboard"]
    event = {"version": "2.0", "rawPath": "/health", "headers": {"x-api-key": key},
             "requestContext": {"http": {"method": "GET", "path": "/health"}}}  # fmt: skip
    with Runtime(cli.target(), "prod", cli.state) as runtime:
        result = runtime.invoke("prod-dashboard", event)
    assert result.ok, result.error
    return json.loads(result.payload["body"])["version"]


@pytest.fixture(scope="module")
def first_prod(deployed_preprod: dict, cli: Cli) -> dict:
    """Scenario 7: a human change needs an approval; a Dependabot security patch goes to prod
    without one. A stale lock left by a dead run is broken, and that is recorded."""
    code, refused = cli.json("promote", "--env", "prod", *HUMAN)
    assert code == 3, refused
    assert "the gate requires an approval for prod" in refused["message"]
    assert [s["name"] for s in refused["stages"]] == ["gate"]

    target = cli.target()
    ledger = prod_ledger(cli)
    ledger.ensure()
    target.client("dynamodb").put_item(TableName=ledger.table, Item={
        "pk": {"S": LOCK}, "sk": {"S": "prod"}, "run_id": {"S": "dead-run"},
        "expires": {"N": str(time.time() - 60)},
        "data": {"S": json.dumps({"owner": "ci@crashed", "run_id": "dead-run",
                                  "taken_at": "2026-11-21T10:00:00+00:00"})},
    })  # fmt: skip
    code, outcome = cli.json("promote", "--env", "prod", *SECURITY)
    assert code == 0, outcome["message"]
    return outcome


def test_dependabot_security_patch_reaches_prod_without_approval(
    first_prod: dict, deployed_preprod: dict, cli: Cli
) -> None:
    stages = [s["name"] for s in first_prod["stages"]]
    assert stages == ["gate", "preconditions", "lock", "copy", "plan", "apply",
                      "deploy", "shift 10%", "shift 100%", "record"]  # fmt: skip
    assert first_prod["stages"][0]["detail"] == "auto"
    assert "broke a stale lock of ci@crashed (run dead-run)" in first_prod["stages"][2]["detail"]
    assert prod_ledger(cli).events()[0]["lock"]["run_id"] == "dead-run"
    assert prod_ledger(cli).lock() is None  # released at the end
    [entry] = [e for e in prod_ledger(cli).deployments() if e["result"] == "ok"]
    assert entry["sha"] == deployed_preprod["sha"] and entry["approval"] is None
    assert entry["decision"]["prod"] == "auto"
    assert live(cli) == entry["versions"]
    # The same bytes: prod's functions run exactly the digests preprod validated.
    validations = cli.ledger("preprod").validations(deployed_preprod["sha"])
    assert validations and all(v["digests"] == entry["digests"] for v in validations)
    assert health_version(cli) == deployed_preprod["sha"]


@pytest.fixture(scope="module")
def second(first_prod: dict, cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A second release through preprod and prod, approved by a person."""
    runner = release(
        cli, tmp_path_factory.mktemp("second") / "repo", NOTES, lambda t: t + "\nRelease 2.\n"
    )
    code, outcome = runner.json("promote", "--env", "preprod")
    assert code == 0, outcome["message"]
    code, outcome = runner.json("promote", "--env", "prod", "--approve", "alice: release 2")
    assert code == 0, outcome["message"]
    return runner


def test_rollback_command_moves_live_and_refuses_what_it_should(
    first_prod: dict, second: Cli, cli: Cli
) -> None:
    old, new = first_prod["sha"], sha_of(second)
    assert health_version(cli) == new
    code, back = cli.json("rollback", "--env", "prod")
    assert code == 0, back["message"]
    assert back["sha"] == old and back["seconds"] < 5
    assert health_version(cli) == old
    latest = prod_ledger(cli).deployments(limit=1)[0]
    assert (latest["kind"], latest["sha"], latest["from_sha"]) == ("rollback", old, new)

    code, again = cli.json("rollback", "--env", "prod")
    assert code == 3
    assert "the last change to prod was itself a rollback" in again["message"]
    code, unknown = cli.json("rollback", "--env", "prod", "--to", "0123456789abcdef")
    assert code == 3
    assert "was never deployed successfully to prod" in unknown["message"]

    code, forward = cli.json("rollback", "--env", "prod", "--to", new[:12])
    assert code == 0, forward["message"]
    assert health_version(cli) == new
    code, status = cli.json("status")
    prod = status["environments"][1]
    assert (prod["state"], prod["sha"], prod["kind"]) == ("consistent", new, "rollback")


@pytest.fixture(scope="module")
def broken(second: Cli, cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A release healthy in preprod but not in prod (a prod-only configuration path)."""
    healthy = '    healthy = dynamodb == "ok"\n'
    prod_only = '    healthy = healthy and os.environ.get("ENVIRONMENT") != "prod"\n'
    runner = release(cli, tmp_path_factory.mktemp("broken") / "repo", DASHBOARD,
                     lambda t: t.replace(healthy, healthy + prod_only))  # fmt: skip
    code, outcome = runner.json("promote", "--env", "preprod")
    assert code == 0, outcome["message"]
    return runner


@pytest.fixture(scope="module")
def alert_hook() -> Iterator[Webhook]:
    """The on-call webhook, alive for the rest of the module: once Terraform subscribes it,
    moto delivers every later alert to it (and fails the publish if nothing listens)."""
    with webhook() as hook:
        yield hook


def test_prod_canary_failure_mid_soak_rolls_back_and_quarantines(
    broken: Cli, second: Cli, cli: Cli, tmp_path: Path, alert_hook: Webhook
) -> None:
    before = live(cli)
    # The webhook reaches Terraform as CI passes it, from a secret through TF_VAR_.
    hooked = replace(broken, extra_env={"TF_VAR_alert_webhook_url": alert_hook.url})
    code, outcome = hooked.json("promote", "--env", "prod", "--approve", "bob: release 3")
    assert code == 1
    names = [(s["name"], s["status"]) for s in outcome["stages"]]
    assert names[-3:] == [("shift 10%", "failed"), ("rollback", "ok"), ("record", "ok")]
    assert "rolled back automatically in" in outcome["message"]
    assert live(cli) == before
    assert health_version(cli) == sha_of(second)  # live serves the previous release
    record = json.loads(Path(outcome["run_record"]).read_text())
    assert record["rollback"]["seconds"] < 5 and record["rollback"]["to"] == before
    entry = prod_ledger(cli).deployments(limit=1)[0]
    assert (entry["result"], entry["versions"]) == ("failed", before)
    assert prod_ledger(cli).quarantined(sha_of(broken)) is not None
    # The rollback's alert was delivered over HTTP to the subscribed endpoint, with the sha and
    # the reason; the webhook URL, a secret, is nowhere in what the run wrote.
    subject = f"[prod] automatic rollback of {sha_of(broken)[:12]}"
    [alert] = [b for b in alert_hook.wait_for(1) if b.get("Subject") == subject]
    assert alert["TopicArn"].endswith(":prod-alerts")
    message = json.loads(alert["Message"])
    assert message["sha"] == sha_of(broken) and message["to"] == before
    assert message["reason"] == record["rollback"]["reason"] != ""
    assert alert_hook.url not in Path(outcome["run_record"]).read_text()
    assert alert_hook.url not in json.dumps(outcome)

    code, again = broken.json("promote", "--env", "prod", "--approve", "bob: retry")
    assert code == 3
    assert "is quarantined in prod" in again["message"] and "--unquarantine" in again["message"]

    # Scenario 4: with the quarantine lifted, a failing prod apply leaves live alone.
    wrapper = failing_terraform(tmp_path, "injected prod failure")
    failing = Cli(broken.repo, cli.state, {"PIPELINE_TERRAFORM": str(wrapper)})
    code, outcome = failing.json("promote", "--env", "prod", "--approve", "bob: retry",
                                 "--unquarantine", "bob: testing the apply path")  # fmt: skip
    assert code == 1
    assert "injected prod failure" in outcome["message"]
    assert "live has not moved, so there is nothing to roll back" in outcome["message"]
    assert live(cli) == before
    entry = prod_ledger(cli).deployments(limit=1)[0]
    assert entry["result"] == "failed" and "injected prod failure" in entry["message"]


def test_an_artifact_changed_after_validation_is_refused(second: Cli, cli: Cli) -> None:
    sha = sha_of(second)
    artifact = cli.ledger("preprod").artifact(sha)
    assert artifact is not None
    s3 = cli.target().client("s3")
    key = artifact["functions"]["analysis"]["key"]
    original = s3.get_object(Bucket=artifact["bucket"], Key=key)["Body"].read()
    tampered = bytes([original[0] ^ 1]) + original[1:]
    s3.put_object(Bucket=artifact["bucket"], Key=key, Body=tampered)
    before = live(cli)
    try:
        code, outcome = second.json("promote", "--env", "prod", "--approve", "alice: again")
    finally:
        s3.put_object(Bucket=artifact["bucket"], Key=key, Body=original)
    assert code == 3
    assert "the artifact changed after validation" in outcome["message"]
    assert [s["name"] for s in outcome["stages"]][-1] == "copy"
    assert live(cli) == before


def test_a_sha_not_validated_in_preprod_is_refused(cli: Cli, tmp_path: Path) -> None:
    """Scenario 2: preprod's apply fails, so the sha is not validated and prod refuses it."""
    runner = release(cli, tmp_path / "docs", "README.md", lambda t: t + "\nA docs change.\n")
    wrapper = failing_terraform(tmp_path, "injected failure")
    code, outcome = Cli(runner.repo, cli.state, {"PIPELINE_TERRAFORM": str(wrapper)}).json(
        "promote", "--env", "preprod"
    )
    assert code == 1 and "injected failure" in outcome["message"]
    code, outcome = runner.json("promote", "--env", "prod", "--approve", "carol: docs")
    assert code == 3
    assert "is not validated in preprod" in outcome["message"]
    assert "./pipeline promote --env preprod" in outcome["message"]
    assert [(s["name"], s["status"]) for s in outcome["stages"]][-1] == ("preconditions", "refused")


def test_two_concurrent_prod_promotes_one_wins(second: Cli, cli: Cli) -> None:
    runner = Cli(second.repo, cli.state)
    args = ("promote", "--env", "prod", "--json", "--approve", "dave: concurrency")
    before = len(prod_ledger(cli).deployments())
    processes = [runner.start(*args) for _ in range(2)]
    results = [(p.wait(timeout=900), json.loads(p.communicate()[0])) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3], results
    loser = next(outcome for code, outcome in results if code == 3)
    assert "prod is locked by" in loser["message"]
    entries = prod_ledger(cli).deployments()
    assert len(entries) == before + 1 and entries[0]["result"] == "ok"
    assert live(cli) == entries[0]["versions"] and prod_ledger(cli).lock() is None


def start_prod_promote(runner: Cli, cli: Cli, approval: str) -> subprocess.Popen:
    return Cli(runner.repo, cli.state).start("promote", "--env", "prod", "--json",
                                             "--approve", approval)  # fmt: skip


def wait_for_traffic(cli: Cli, earlier: set[Path], process: subprocess.Popen) -> None:
    """Until the promotion's run record shows that `live` started moving."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        new = sorted(set((cli.state / "runs").glob("*/run.json")) - earlier)
        if new and json.loads(new[-1].read_text()).get("traffic"):
            return
        time.sleep(0.1)
    raise AssertionError("the promotion never started shifting traffic")


def test_a_promotion_killed_mid_shift_is_recovered_by_the_named_command(
    broken: Cli, cli: Cli
) -> None:
    """Fault injection: the pipeline dies with `live` half-shifted and the lock held. The
    release is the prod-only-broken one (validated in preprod, released from quarantine by the
    apply-failure scenario); it is killed before its canary can fail."""
    runner = broken
    good = prod_ledger(cli).last_good()
    assert good is not None
    earlier = set((cli.state / "runs").glob("*/run.json"))
    process = start_prod_promote(runner, cli, "frank: release 5")
    wait_for_traffic(cli, earlier, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert any(r["weights"] for r in traffic.routing(cli.target(), NAMES).values())
    assert prod_ledger(cli).lock() is not None

    code, refused = runner.json("promote", "--env", "prod", "--approve", "frank: again")
    assert code == 3
    recovery = f"./pipeline rollback --env prod --to {good['sha'][:12]} --break-lock"
    assert "prod is locked by" in refused["message"] and recovery in refused["message"]
    code, back = cli.json("rollback", "--env", "prod", "--to", good["sha"][:12],
                          "--break-lock", "ops: the promotion was killed")  # fmt: skip
    assert code == 0, back["message"]
    routing = traffic.routing(cli.target(), NAMES)
    assert all(not r["weights"] for r in routing.values())
    assert {fn: r["version"] for fn, r in routing.items()} == good["versions"]
    assert prod_ledger(cli).lock() is None
    assert prod_ledger(cli).events()[0]["event"] == "lock broken by a person"
    code, status = cli.json("status")
    assert status["environments"][1]["state"] == "consistent"


def test_an_alarm_during_the_watch_rolls_back(second: Cli, cli: Cli, tmp_path: Path) -> None:
    runner = release(cli, tmp_path / "next", NOTES, lambda t: t + "\nRelease 4.\n")
    code, outcome = runner.json("promote", "--env", "preprod")
    assert code == 0, outcome["message"]
    before = live(cli)
    earlier = set((cli.state / "runs").glob("*/run.json"))
    process = start_prod_promote(runner, cli, "erin: release 4")
    wait_for_traffic(cli, earlier, process)
    sqs = cli.target().client("sqs")
    dlq = sqs.get_queue_url(QueueName="prod-analysis-dlq")["QueueUrl"]
    for n in range(6):  # above the DLQ alarm's threshold of 5
        sqs.send_message(QueueUrl=dlq, MessageBody=f"injected {n}")
    stdout, _ = process.communicate(timeout=600)
    outcome = json.loads(stdout)
    assert process.returncode == 1, outcome["message"]
    assert "prod-analysis-dlq-depth in ALARM" in outcome["message"]
    assert "rolled back automatically" in outcome["message"]
    assert live(cli) == before
    sqs.purge_queue(QueueUrl=dlq)


def test_killing_the_emulator_mid_shift_is_refused_clearly_next_time(cli: Cli) -> None:
    """Fault injection: the emulator (all of emulated AWS) dies during the shift. The run says
    so; the next prod promotion refuses and names the command that rebuilds preprod first."""
    runner = Cli(cli.repo, cli.state, {})
    earlier = set((cli.state / "runs").glob("*/run.json"))
    process = start_prod_promote(runner, cli, "grace: re-promote")
    wait_for_traffic(cli, earlier, process)
    running = emulator.load(cli.state)
    assert running is not None
    os.kill(running.pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 1 and "Traceback" not in stderr
    assert "the emulator stopped during the run" in json.loads(stdout)["message"]
    code, refused = runner.json("promote", "--env", "prod", "--approve", "grace: again")
    assert code == 3
    assert "Promote it there first: ./pipeline promote --env preprod" in refused["message"]

"""Fault injection: the emulator — all of emulated AWS, ledgers and Terraform state included — is
killed at every stage boundary of a prod promotion.

Each boundary gets its own lane (a clone, a state directory, an emulator), and two lanes run at
a time: most of a lane is Terraform waiting on the emulator. A lane's preprod is what a passing
`promote --env preprod` leaves for prod (the validated artifacts and the ledger's `validated`
entry), built without that run's apply and verify, which tests/pipeline covers. The prod
promotion is paused the moment its run record shows the boundary's stage finished, the emulator
is killed, and the promotion resumes.

The mid-shift kill (emulator and pipeline process) is in tests/pipeline/test_promote_prod.py."""

import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.adapters import emulator
from tests.conftest import REPO
from tests.environments import validated_upstream
from tests.pipeline.test_promote_prod import start_prod_promote
from tests.runner import Cli, clone

pytestmark = pytest.mark.robustness
BOUNDARIES = ("gate", "preconditions", "lock", "copy", "plan", "apply", "deploy", "shift 10%",
              "shift 100%")  # fmt: skip
APPROVAL = ["--approve", "quinn: fault injection"]
# Lanes mostly wait on Terraform, but each Terraform run starts a large provider binary. Next to
# the suite's other workers, four at once overloaded a 2-core VM whose host was stealing a third
# of its CPU (an SDK retry then found Terraform's own state lock); two at once do not.
LANES_AT_ONCE = 2


@dataclass
class Lane:
    boundary: str
    code: int
    outcome: dict
    stderr: str
    record: dict
    next_code: int
    next_outcome: dict
    status: dict


def pause_after(process: subprocess.Popen, state: Path, boundary: str, earlier: set[Path]) -> None:
    """Stop the promotion as soon as its run record shows `boundary` finished; any stage that
    failed first, or the promotion ending early, fails the lane with the run's own account."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and process.poll() is None:
        for path in set((state / "runs").glob("*/run.json")) - earlier:
            try:
                stages = json.loads(path.read_text()).get("stages", [])
            except ValueError:
                continue  # being rewritten
            failed = [s for s in stages if s["status"] != "ok"]
            if failed:
                raise AssertionError(
                    f"{failed[0]['name']} failed before the fault at {boundary}: "
                    f"{failed[0]['detail']}"
                )
            if any(s["name"] == boundary for s in stages):
                process.send_signal(signal.SIGSTOP)
                return
        time.sleep(0.02)
    if process.poll() is None:
        raise AssertionError(f"the promotion did not finish {boundary} within 900 s")
    stdout, stderr = process.communicate()
    raise AssertionError(
        f"the promotion ended (exit {process.returncode}) before {boundary}: "
        f"{stdout.strip()[-2000:]} {stderr.strip()[-2000:]}"
    )


def run_lane(base: Path, boundary: str) -> Lane:
    cli = Cli(clone(REPO, base / "repo"), base / "state", {})
    cli.state.mkdir()
    try:
        assert cli.run("emulator", "start").returncode == 0
        validated_upstream(cli.repo, cli.state, "preprod", cli.target())
        server = emulator.load(cli.state)
        assert server is not None
        earlier = set((cli.state / "runs").glob("*/run.json"))
        process = start_prod_promote(cli, cli, APPROVAL[1])
        pause_after(process, cli.state, boundary, earlier)
        os.kill(server.pid, signal.SIGKILL)
        process.send_signal(signal.SIGCONT)
        stdout, stderr = process.communicate(timeout=900)
        outcome = json.loads(stdout) if stdout.strip() else {}
        record = json.loads(Path(outcome.get("run_record", base / "none")).read_text())
        next_code, next_outcome = cli.json("promote", "--env", "prod", *APPROVAL)
        _, status = cli.json("status")
        return Lane(boundary, process.returncode, outcome, stderr, record, next_code,
                    next_outcome, status)  # fmt: skip
    finally:
        cli.stop()


@pytest.fixture(scope="module")
def lanes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Lane]:
    base = tmp_path_factory.mktemp("emulator-kills")
    with ThreadPoolExecutor(max_workers=LANES_AT_ONCE) as pool:
        futures = {
            b: pool.submit(run_lane, base / f"lane-{n}", b) for n, b in enumerate(BOUNDARIES)
        }
        return {boundary: future.result() for boundary, future in futures.items()}


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_the_dying_run_says_what_happened(lanes: dict[str, Lane], boundary: str) -> None:
    lane = lanes[boundary]
    assert lane.code == 1, lane.outcome
    assert "Traceback" not in lane.stderr
    message = lane.outcome["message"]
    assert "because the emulator stopped during the run" in message
    names = [s["name"] for s in lane.outcome["stages"]]
    # Every stage up to the boundary passed; whatever ran after it is the one reported.
    cut = names.index(boundary)
    assert all(s["status"] == "ok" for s in lane.outcome["stages"][: cut + 1])
    after = lane.outcome["stages"][cut + 1 :]
    if after:
        assert after[-1]["status"] == "failed" and f"{after[-1]['name']} failed" in message
    else:
        assert f"the run failed after {boundary}" in message


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_the_run_record_survives_intact(lanes: dict[str, Lane], boundary: str) -> None:
    lane = lanes[boundary]
    assert lane.record["result"] == "failed" and lane.record["exit_code"] == 1
    assert [s["name"] for s in lane.record["stages"]] == [s["name"] for s in lane.outcome["stages"]]


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_the_next_run_refuses_and_names_the_recovery(lanes: dict[str, Lane], boundary: str) -> None:
    """Emulated AWS restarts empty: nothing is half-shifted because nothing is deployed, and
    prod refuses until preprod is rebuilt and validated again."""
    lane = lanes[boundary]
    assert lane.next_code == 3, lane.next_outcome
    assert "./pipeline promote --env preprod" in lane.next_outcome["message"]
    states = {row["env"]: row["state"] for row in lane.status["environments"]}
    assert states == {
        "preprod": "never deployed successfully",
        "prod": "never deployed successfully",
    }

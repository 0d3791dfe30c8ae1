"""The canary suite's `/health` budget, run as verify runs it, against stand-in dashboards served
by the emulated runtime through a Function URL: one whose cold start takes longer than the
budget and one whose every request does. The first passes and the second fails however busy this
machine is, because the budget leaves out the init phase (as Lambda reports it apart) and
nothing else."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.adapters import emulator
from pipeline.runtime.function_url import FunctionUrl
from pipeline.runtime.functions import Runtime
from tests.conftest import REPO
from tests.functions import ENV, account, deploy
from tests.verify.canary.test_canary import HEALTH_BUDGET_S

pytestmark = pytest.mark.robustness
SECRET = "health-dashboard-key"
KEY = "health-check-key"
SLOW = HEALTH_BUDGET_S + 1.0  # seconds: over the budget, under Lambda's 10-second init limit
DASHBOARD = """
import json, os, time
from datetime import datetime, timezone

time.sleep(float(os.environ["INIT_SLEEP"]))  # the module's import: Lambda's init phase


def handler(event, context):
    time.sleep(float(os.environ["WORK_SLEEP"]))  # the request's own work
    if event["headers"].get("x-api-key") != os.environ["KEY"]:
        return {"statusCode": 401, "body": json.dumps({"error": "unauthorized"})}
    body = {"status": "healthy", "version": "stand-in",
            "timestamp": datetime.now(timezone.utc).isoformat()}
    return {"statusCode": 200, "body": json.dumps(body)}
"""


@pytest.fixture(scope="module")
def served(moto_server: emulator.Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    dict[str, Any]
]:  # fmt: skip
    """The two stand-ins, each behind its own Function URL, in a runtime whose logs the suite
    reads."""
    tgt = account(moto_server)
    tgt.client("secretsmanager").create_secret(Name=SECRET, SecretString=KEY)
    for name, init, work in (("slow-init", SLOW, 0.0), ("slow-work", 0.0, SLOW)):
        code = {"probe.py": f"{DASHBOARD}# {name}\n"}  # a zip of its own: one name per digest
        deploy(tgt, name, code, 15, INIT_SLEEP=str(init), WORK_SLEEP=str(work), KEY=KEY)
    state = tmp_path_factory.mktemp("health-state")
    with (
        Runtime(tgt, ENV, state) as runtime,
        FunctionUrl(runtime, "slow-init") as slow_init,
        FunctionUrl(runtime, "slow-work") as slow_work,
    ):
        yield {"target": tgt, "state": state, "slow-init": slow_init, "slow-work": slow_work}


def _health_check(served: dict[str, Any], dashboard: str, results: Path) -> tuple[int, str]:
    """tests/verify/canary/test_canary.py's `/health` test in a child pytest, with the
    environment verify gives it."""
    outputs = results / "outputs.json"
    outputs.write_text(json.dumps({}))
    tgt = served["target"]
    environ = {**os.environ, "NEWSFLOW_ENV": ENV, "NEWSFLOW_REGION": tgt.region,
               "NEWSFLOW_OUTPUTS": str(outputs), "NEWSFLOW_RESULTS_DIR": str(results),
               "NEWSFLOW_DASHBOARD_URL": served[dashboard].url,
               "NEWSFLOW_DASHBOARD_KEY_SECRET": SECRET, "NEWSFLOW_SHA": "",
               "NEWSFLOW_AWS_ENDPOINT": str(tgt.endpoint),
               "NEWSFLOW_STATE_DIR": str(served["state"]),
               **tgt.environ()}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
         "tests/verify/canary/test_canary.py::test_health_contract"],
        cwd=REPO, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_a_cold_start_longer_than_the_budget_passes(served: dict[str, Any], tmp_path: Path) -> None:
    code, output = _health_check(served, "slow-init", tmp_path)
    assert code == 0, output
    assert served["slow-init"].served == 1  # one request, and it was the cold one


def test_a_dashboard_slower_than_the_budget_on_every_request_fails(
    served: dict[str, Any], tmp_path: Path
) -> None:
    code, output = _health_check(served, "slow-work", tmp_path)
    assert code == 1, output
    assert "beyond any cold start" in output

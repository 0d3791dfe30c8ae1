"""The verify stage's dashboard load check, run as verify runs it, against stand-in dashboards
whose work per request is the dashboard's query, once or stretched fifty-fold: the first passes
and the second fails however busy this machine is, because both scale with the emulator."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipeline.adapters import emulator
from pipeline.adapters.target import Target
from tests.conftest import REPO
from tests.http_server import Respond, serving
from tests.verify.integration.test_load import REFERENCE_QUERY_MS, budget_scale, items_query

pytestmark = pytest.mark.robustness
TABLE = "load-items"
SECRET = "load-dashboard-key"
REGION = "eu-west-1"
SLOW = 50.0  # the regression: fifty times the query's work per request


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An emulator holding what the check reads: the key's secret and an items table as large
    as a verified preprod's (117 analysed items)."""
    server = emulator.start(tmp_path_factory.mktemp("load-moto") / "moto.log")
    clients = {
        name: boto3.client(name, region_name=REGION, endpoint_url=server.endpoint,
                           aws_access_key_id="test", aws_secret_access_key="test")
        for name in ("dynamodb", "secretsmanager")
    }  # fmt: skip
    clients["secretsmanager"].create_secret(Name=SECRET, SecretString="load-check-key")
    strings = [{"AttributeName": name, "AttributeType": "S"}
               for name in ("id", "status", "published_at")]  # fmt: skip
    clients["dynamodb"].create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=strings,
        GlobalSecondaryIndexes=[{
            "IndexName": "by-status-published",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                          {"AttributeName": "published_at", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )  # fmt: skip
    for n in range(117):
        clients["dynamodb"].put_item(TableName=TABLE, Item={
            "id": {"S": f"item-{n}"}, "status": {"S": "analyzed"},
            "published_at": {"S": f"2026-11-{n % 28 + 1:02d}T{n % 24:02d}:00:00Z"},
            "title": {"S": "headline " * 10}, "sentiment": {"S": "neutral"},
        })  # fmt: skip
    yield {"endpoint": server.endpoint, "dynamodb": clients["dynamodb"]}
    server.stop()


def _dashboard(dynamodb: Any, stretch: float) -> Respond:
    """Answers 200 after the dashboard's query, then `stretch - 1` times that query's time, or
    the reference machine's when this one is faster: the budget never shrinks below the
    reference's, so on a fast idle machine fifty of its quick queries could still fit in it."""

    def respond(request: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        started = time.perf_counter()
        dynamodb.query(**items_query(TABLE))
        query = max(time.perf_counter() - started, REFERENCE_QUERY_MS / 1000)
        time.sleep((stretch - 1) * query)
        return 200, b'{"items": [], "count": 0}'

    return respond


def _load_check(aws: dict[str, Any], stretch: float, results: Path) -> tuple[int, dict, str]:
    """tests/verify/integration/test_load.py in a child pytest, with the environment verify
    gives it."""
    outputs = results / "outputs.json"
    outputs.write_text(json.dumps({"items_table_name": TABLE}))
    environ = {**os.environ, "NEWSFLOW_ENV": "preprod", "NEWSFLOW_REGION": REGION,
               "NEWSFLOW_OUTPUTS": str(outputs), "NEWSFLOW_RESULTS_DIR": str(results),
               "NEWSFLOW_DASHBOARD_URL": "",
               "NEWSFLOW_DASHBOARD_KEY_SECRET": SECRET, "NEWSFLOW_AWS_ENDPOINT": aws["endpoint"],
               "NEWSFLOW_STATE_DIR": str(results),
               # verify hands the suites their caller's credentials; here, the emulator's own
               **Target("emulated", REGION, aws["endpoint"]).environ()}  # fmt: skip
    with serving(_dashboard(aws["dynamodb"], stretch)) as url:
        environ["NEWSFLOW_DASHBOARD_URL"] = f"{url}/"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
             "tests/verify/integration/test_load.py"],
            cwd=REPO, env=environ, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    return done.returncode, json.loads((results / "load.json").read_text()), done.stdout


def _budget_matches_the_measured_emulator(report: dict) -> None:
    assert len(report["emulator_query_ms"]) == 2
    expected = 1500.0 * budget_scale(report["emulator_query_ms"])
    assert report["budget_p95_ms"] == pytest.approx(expected, abs=0.1)


def test_a_dashboard_doing_the_querys_work_passes(aws: dict[str, Any], tmp_path: Path) -> None:
    code, report, output = _load_check(aws, 1.0, tmp_path)
    assert code == 0, output
    _budget_matches_the_measured_emulator(report)
    assert report["p95_ms"] < report["budget_p95_ms"] and report["errors"] == []


def test_a_dashboard_doing_fifty_times_the_work_fails(aws: dict[str, Any], tmp_path: Path) -> None:
    code, report, output = _load_check(aws, SLOW, tmp_path)
    assert code == 1, output
    assert "test_dashboard_p95_under_budget" in output and "p95_ms" in output
    _budget_matches_the_measured_emulator(report)
    assert report["p95_ms"] >= report["budget_p95_ms"]


def test_the_budget_stretches_only_for_an_emulator_slower_than_the_reference() -> None:
    assert budget_scale([REFERENCE_QUERY_MS / 2, REFERENCE_QUERY_MS / 4]) == 1.0
    assert budget_scale([REFERENCE_QUERY_MS, 3 * REFERENCE_QUERY_MS]) == 3.0

"""A bounded load check of the dashboard: a fixed number of requests, a fixed concurrency."""

import ipaddress
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.deployed import App

pytestmark = pytest.mark.integration
REQUESTS = 100
CONCURRENCY = 4
P95_BUDGET_MS = 1500.0  # under the canary's own 2000 ms budget


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def test_dashboard_p95_under_budget(app: App) -> None:
    if app.emulated:
        assert _loopback(app.dashboard_url), "an emulated dashboard must be served on 127.0.0.1"
    key = app.api_key()
    url = app.dashboard_url.rstrip("/") + "/items"

    def one(session: requests.Session) -> tuple[int, float]:
        started = time.perf_counter()
        response = session.get(url, headers={"X-API-Key": key}, params={"limit": "20"}, timeout=10)
        return response.status_code, (time.perf_counter() - started) * 1000

    with requests.Session() as session, ThreadPoolExecutor(CONCURRENCY) as pool:
        session.mount("http", HTTPAdapter(pool_maxsize=CONCURRENCY))
        session.mount("https", HTTPAdapter(pool_maxsize=CONCURRENCY))
        # Warm-up: one wave at full concurrency starts the sandboxes (Lambda's cold starts);
        # the budget is for the steady state that follows.
        list(pool.map(lambda _: one(session), range(CONCURRENCY)))
        started = time.perf_counter()
        results = list(pool.map(lambda _: one(session), range(REQUESTS)))
        wall = time.perf_counter() - started
    latencies = sorted(ms for _, ms in results)
    p95 = statistics.quantiles(latencies, n=100)[94]
    report = {
        "requests": REQUESTS,
        "concurrency": CONCURRENCY,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(latencies[-1], 1),
        "budget_p95_ms": P95_BUDGET_MS,
        "requests_per_second": round(REQUESTS / wall, 1),
    }
    print(f"dashboard load: {json.dumps(report)}")
    if os.environ.get("NEWSFLOW_RESULTS_DIR"):
        Path(os.environ["NEWSFLOW_RESULTS_DIR"], "load.json").write_text(json.dumps(report))
    assert {status for status, _ in results} == {200}
    assert p95 < P95_BUDGET_MS, report

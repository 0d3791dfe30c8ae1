"""Faults outside the pipeline's control: an upstream that times out or resets connections,
a dashboard slower than the canary's budget, and a clock a second either side of a freeze edge."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from news_canary.probe import probe
from news_ingestion.newsapi import UpstreamUnavailableError, fetch_articles
from pipeline.adapters.fake_newsapi import FakeNewsApi, load_scenarios
from tests.conftest import REPO
from tests.http_server import serving

pytestmark = pytest.mark.robustness
KEY = "fault-test-newsapi-key"


@pytest.fixture
def newsapi() -> Iterator[FakeNewsApi]:
    fake = FakeNewsApi(load_scenarios(REPO / "fixtures" / "newsapi"), KEY).start()
    yield fake
    fake.stop()


def fetch(fake: FakeNewsApi, timeout: float = 0.3) -> list[dict[str, Any]]:
    return fetch_articles(fake.base_url, "/v2/top-headlines", {"country": "us"}, KEY,
                          timeout=timeout, max_retries=2, backoff=0.01)  # fmt: skip


def control(fake: FakeNewsApi, path: str) -> None:
    requests.put(f"{fake.base_url}/_fake/{path}", timeout=5).raise_for_status()


def test_newsapi_timeouts_exhaust_the_bounded_retries(newsapi: FakeNewsApi) -> None:
    control(newsapi, "delay/1.0")
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailableError, match="after 3 attempts: ReadTimeout"):
        fetch(newsapi)
    assert time.monotonic() - started < 3  # 3 x 0.3 s timeouts plus backoff, not 3 x 1 s
    assert len(newsapi.requests_seen) == 3


def test_newsapi_connection_resets_are_retried_until_one_answers(newsapi: FakeNewsApi) -> None:
    control(newsapi, "reset/2")
    articles = fetch(newsapi)
    assert len(articles) == 5 and len(newsapi.requests_seen) == 3
    control(newsapi, "reset/3")
    with pytest.raises(UpstreamUnavailableError, match="ConnectionError"):
        fetch(newsapi)


@pytest.fixture
def slow_dashboard() -> Iterator[str]:
    def slow(request: object) -> tuple[int, bytes]:
        time.sleep(0.4)
        return 200, json.dumps({"status": "healthy", "version": "v", "timestamp": "t",
                                "checks": {}}).encode()  # fmt: skip

    with serving(slow) as url:
        yield url


def test_a_dashboard_slower_than_the_budget_fails_the_canary(slow_dashboard: str) -> None:
    over = probe(slow_dashboard, "key", budget_ms=100, timeout=5)
    assert not over.ok and over.status_code == 200
    assert any("exceeds 100 ms" in problem for problem in over.problems)
    assert probe(slow_dashboard, "key", budget_ms=2000, timeout=5).ok
    timed_out = probe(slow_dashboard, "key", budget_ms=2000, timeout=0.1)
    assert timed_out.problems == ["request failed: TimeoutError"]

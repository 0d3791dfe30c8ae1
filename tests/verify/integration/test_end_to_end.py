"""Ingestion → queue → analysis → dashboard, for every NewsAPI fixture scenario."""

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO
from tests.verify.deployed import App

pytestmark = pytest.mark.integration
SENTIMENTS = {"positive", "negative", "neutral"}
# scenario: (usable articles, distinct usable URLs, skipped articles), counted from the fixture.
SCENARIOS = {
    "happy_path": (5, 5, 0),
    "duplicate_urls": (4, 2, 0),
    "missing_fields": (2, 2, 2),
    "removed": (1, 1, 2),
    "non_ascii": (4, 4, 0),
    "partial_data": (3, 3, 0),
    "empty": (0, 0, 0),
    "bulk": (100, 100, 0),
}


def fixture_urls(scenario: str) -> set[str]:
    body = json.loads((REPO / "fixtures" / "newsapi" / f"{scenario}.json").read_text())
    return {a["url"] for a in body["articles"] if isinstance(a, dict) and a.get("url")}


def stored_items(app: App, urls: set[str]) -> dict[str, dict[str, Any]]:
    """The items of these URLs that exist in the items table, by id."""
    client = app.client("dynamodb")
    found = {}
    for url in urls:
        item_id = hashlib.sha256(url.encode()).hexdigest()
        item = client.get_item(
            TableName=app.outputs["items_table_name"], Key={"id": {"S": item_id}}
        ).get("Item")
        if item:
            found[item_id] = {key: next(iter(value.values())) for key, value in item.items()}
    return found


def stats(app: App) -> dict[str, Any]:
    response = app.get("/stats", app.api_key())
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def newsapi(app: App) -> Iterator[App]:
    if not app.newsapi_url:
        pytest.skip("scenarios need the fake NewsAPI; set NEWSFLOW_NEWSAPI_URL")
    app.drain_analysis()  # start from a quiet queue
    yield app
    app.set_newsapi_scenario("happy_path")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_end_to_end(newsapi: App, scenario: str) -> None:
    app = newsapi
    usable, distinct, skipped = SCENARIOS[scenario]
    urls = fixture_urls(scenario)
    already = len(stored_items(app, urls))
    before = stats(app)
    app.set_newsapi_scenario(scenario)

    result = app.run_schedule("ingestion")
    assert result.ok, result.error
    expected_new = distinct - already
    assert result.payload == {
        "fetched": usable + skipped,
        "stored": expected_new,
        "duplicates": usable - expected_new,
        "skipped": skipped,
    }
    app.drain_analysis()

    items = stored_items(app, urls)
    assert len(items) == distinct
    assert {item["status"] for item in items.values()} <= {"analyzed"}
    assert {item["sentiment"] for item in items.values()} <= SENTIMENTS
    after = stats(app)
    assert after["total"] == before["total"] + expected_new
    assert sum(after["sentiment"].values()) == after["total"]
    listed = app.get("/items", app.api_key(), limit="100").json()["items"]
    assert all(item["sentiment"] in SENTIMENTS for item in listed)


def test_rerun_stores_nothing_twice(newsapi: App) -> None:
    newsapi.set_newsapi_scenario("happy_path")
    newsapi.run_schedule("ingestion")
    newsapi.drain_analysis()
    before = stats(newsapi)
    result = newsapi.run_schedule("ingestion")
    assert result.payload == {"fetched": 5, "stored": 0, "duplicates": 5, "skipped": 0}
    newsapi.drain_analysis()
    assert stats(newsapi)["total"] == before["total"]

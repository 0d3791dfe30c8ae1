"""Ingestion against moto and the fake NewsAPI: one test per fixture scenario, plus error paths."""

import logging

import pytest
from botocore.exceptions import ClientError

from news_ingestion.articles import article_id
from news_ingestion.handler import handler
from news_ingestion.newsapi import (
    ApiKeyInvalidError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from pipeline.adapters.fake_newsapi import FakeNewsApi
from tests.unit.conftest import App

pytestmark = pytest.mark.unit

SUCCESS = {
    # scenario: (fetched, stored, duplicates, skipped)
    "happy_path": (5, 5, 0, 0),
    "empty": (0, 0, 0, 0),
    "missing_fields": (4, 2, 0, 2),
    "partial_data": (3, 3, 0, 0),
    "bulk": (100, 100, 0, 0),
    "removed": (3, 1, 0, 2),
    "duplicate_urls": (4, 2, 2, 0),
    "non_ascii": (4, 4, 0, 0),
}


@pytest.mark.parametrize("scenario", sorted(SUCCESS))
def test_scenario_counts_items_and_messages(scenario: str, app: App, newsapi: FakeNewsApi) -> None:
    newsapi.use(scenario)
    fetched, stored, duplicates, skipped = SUCCESS[scenario]

    counts = handler({}, None)

    assert counts == {
        "fetched": fetched,
        "stored": stored,
        "duplicates": duplicates,
        "skipped": skipped,
    }
    stored_items = app.all_items()
    assert len(stored_items) == stored
    assert {item["status"] for item in stored_items} <= {"pending"}
    assert all(item["id"] == article_id(item["url"]) for item in stored_items)
    published = app.published(app.topic_queue_url)
    assert sorted(m["id"] for m in published) == sorted(item["id"] for item in stored_items)


def test_partial_article_is_stored_without_description(app: App, newsapi: FakeNewsApi) -> None:
    newsapi.use("partial_data")
    handler({}, None)
    museum = next(i for i in app.all_items() if i["title"].startswith("Museum"))
    assert "description" not in museum
    assert "author" not in museum


def test_non_ascii_text_survives_round_trip(app: App, newsapi: FakeNewsApi) -> None:
    newsapi.use("non_ascii")
    handler({}, None)
    titles = {item["title"] for item in app.all_items()}
    assert "東京でロボット展示会が開幕" in titles
    assert "Zürich café wins award for best crème brûlée" in titles


def test_second_run_stores_nothing_new(app: App, newsapi: FakeNewsApi) -> None:
    handler({}, None)
    app.published(app.topic_queue_url)
    assert handler({}, None) == {"fetched": 5, "stored": 0, "duplicates": 5, "skipped": 0}
    assert app.published(app.topic_queue_url) == []


@pytest.mark.parametrize(
    ("scenario", "error", "requests_made", "message"),
    [
        ("rate_limited", RateLimitedError, 1, "NewsAPI error rateLimited (HTTP 429)"),
        ("api_key_invalid", ApiKeyInvalidError, 1, "NewsAPI error apiKeyInvalid (HTTP 401)"),
        (
            "server_error",
            UpstreamUnavailableError,
            4,
            "NewsAPI unavailable after 4 attempts: HTTP 500",
        ),
    ],
)
def test_error_scenarios_raise_typed_errors_and_write_nothing(
    scenario: str,
    error: type[Exception],
    requests_made: int,
    message: str,
    app: App,
    newsapi: FakeNewsApi,
) -> None:
    newsapi.use(scenario)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        handler({}, None)
    assert len(newsapi.requests_seen) == requests_made
    assert app.all_items() == []
    assert app.published(app.topic_queue_url) == []


def test_wrong_key_is_rejected_by_newsapi(
    app: App, newsapi: FakeNewsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    newsapi.api_key = "a-different-key"
    with pytest.raises(ApiKeyInvalidError):
        handler({}, None)
    assert app.all_items() == []


def test_failed_publish_undoes_the_put(
    app: App, newsapi: FakeNewsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYSIS_TOPIC_ARN", app.topic_arn + "-missing")
    with pytest.raises(ClientError, match="NotFound"):
        handler({}, None)
    assert app.all_items() == []


def test_newsapi_key_never_logged(
    app: App, newsapi: FakeNewsApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handler({}, None)
    newsapi.use("server_error")
    with pytest.raises(UpstreamUnavailableError) as raised:
        handler({}, None)
    assert caplog.records, "the handler is expected to log"
    assert app.newsapi_key not in caplog.text
    assert app.newsapi_key not in str(raised.value)

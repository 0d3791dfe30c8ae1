"""Analysis: VADER labels, the SNS→SQS envelope, and partial batch failures."""

import json

import pytest

from news_analysis.handler import handler
from news_analysis.sentiment import score
from news_dashboard.handler import handler as dashboard
from news_ingestion.handler import handler as ingest
from pipeline.adapters.fake_newsapi import FakeNewsApi
from tests.unit.conftest import App
from tests.unit.events import function_url_event, sns_envelope, sqs_event
from tests.unit.test_ingestion import SUCCESS

pytestmark = pytest.mark.unit


def _ingest_and_analyse(app: App) -> dict:
    ingest({}, None)
    bodies = [sns_envelope(m) for m in app.published(app.topic_queue_url)]
    return handler(sqs_event(bodies), None)


def test_happy_path_labels(app: App, newsapi: FakeNewsApi) -> None:
    assert _ingest_and_analyse(app) == {"batchItemFailures": []}
    labels = {item["title"].split()[0]: item["sentiment"] for item in app.all_items()}
    assert labels == {
        "City": "positive",
        "Train": "negative",
        "Council": "neutral",
        "Scientists": "positive",
        "Storm": "negative",
    }
    assert all(item["status"] == "analyzed" for item in app.all_items())
    assert all(-1 <= item["compound"] <= 1 for item in app.all_items())


@pytest.mark.parametrize("scenario", sorted(SUCCESS))
def test_every_stored_item_of_a_scenario_is_analysed(
    scenario: str, app: App, newsapi: FakeNewsApi
) -> None:
    newsapi.use(scenario)
    assert _ingest_and_analyse(app) == {"batchItemFailures": []}
    stats = json.loads(dashboard(function_url_event("/stats", app.dashboard_key), None)["body"])
    assert stats["total"] == SUCCESS[scenario][1]
    assert sum(stats["sentiment"].values()) == stats["total"]


def test_poison_messages_fail_alone(app: App, newsapi: FakeNewsApi) -> None:
    ingest({}, None)
    good = [sns_envelope(m) for m in app.published(app.topic_queue_url)]
    bad = ["not json", sns_envelope({"id": "no-such-item"}), json.dumps({"id": 42})]
    event = sqs_event(good[:2] + bad + good[2:])

    result = handler(event, None)

    bad_ids = [r["messageId"] for r in event["Records"][2:5]]
    assert result == {"batchItemFailures": [{"itemIdentifier": i} for i in bad_ids]}
    assert sum(item["status"] == "analyzed" for item in app.all_items()) == 5
    assert app.table.get_item(Key={"id": "no-such-item"}).get("Item") is None


def test_raw_delivery_body_is_accepted(app: App, newsapi: FakeNewsApi) -> None:
    ingest({}, None)
    raw = [json.dumps(m) for m in app.published(app.topic_queue_url)]
    assert handler(sqs_event(raw), None) == {"batchItemFailures": []}


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("Wonderful news: the festival was a huge success", "positive"),
        ("Deadly attack leaves city in grief", "negative"),
        ("Meeting moved to Tuesday", "neutral"),
    ],
)
def test_score_thresholds(title: str, label: str) -> None:
    assert score(title)[0] == label

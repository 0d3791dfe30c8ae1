"""Dashboard: authentication in constant time, routes, and the health contract."""

import json
import logging
import secrets
from collections.abc import Iterator
from datetime import datetime

import boto3
import pytest

from news_common import aws
from news_dashboard import handler as dashboard
from news_dashboard.handler import handler
from tests.unit.conftest import App
from tests.unit.events import function_url_event

pytestmark = pytest.mark.unit


def _call(path: str, key: str | None, **query: str) -> tuple[int, dict]:
    response = handler(function_url_event(path, key, query or None), None)
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def _seed(app: App) -> None:
    rows = [
        ("a", "analyzed", "positive", "2026-11-20T10:00:00Z"),
        ("b", "analyzed", "negative", "2026-11-20T12:00:00Z"),
        ("c", "analyzed", "positive", "2026-11-20T11:00:00Z"),
        ("d", "pending", None, "2026-11-20T13:00:00Z"),
    ]
    for key, status, sentiment, published in rows:
        item = {"id": key, "status": status, "published_at": published, "title": key}
        if sentiment:
            item["sentiment"] = sentiment
        app.table.put_item(Item=item)


@pytest.mark.parametrize("path", ["/health", "/items", "/stats", "/nope"])
@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_every_route_requires_the_key(app: App, path: str, key: str | None) -> None:
    status, body = _call(path, key)
    assert status == 401
    assert body["error"] == "unauthorized"
    assert app.dashboard_key not in json.dumps(body)


def test_health_reports_version_and_dynamodb(app: App) -> None:
    status, body = _call("/health", app.dashboard_key)
    assert status == 200
    assert body["status"] == "healthy"
    assert body["version"] == "0123abc"
    assert body["checks"] == {"dynamodb": "ok"}
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_health_is_unhealthy_without_table(app: App) -> None:
    boto3.client("dynamodb").delete_table(TableName="test-items")
    status, body = _call("/health", app.dashboard_key)
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["dynamodb"].startswith("error: ")


def test_items_are_latest_analysed_first(app: App) -> None:
    _seed(app)
    status, body = _call("/items", app.dashboard_key, limit="2")
    assert status == 200
    assert [item["id"] for item in body["items"]] == ["b", "c"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", ""])
def test_items_rejects_bad_limit(app: App, limit: str) -> None:
    status, body = _call("/items", app.dashboard_key, limit=limit)
    assert status == 400
    assert "limit" in body["message"]


def test_stats_counts_analysed_items(app: App) -> None:
    _seed(app)
    status, body = _call("/stats", app.dashboard_key)
    assert status == 200
    assert body == {"sentiment": {"positive": 2, "neutral": 0, "negative": 1}, "total": 3}


def test_unknown_route_is_404_and_wrong_method_405(app: App) -> None:
    assert _call("/admin", app.dashboard_key)[0] == 404
    response = handler(function_url_event("/stats", app.dashboard_key, method="POST"), None)
    assert response["statusCode"] == 405


def test_dashboard_key_never_logged(app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _call("/health", app.dashboard_key)
    _call("/stats", "wrong")
    assert caplog.records
    assert app.dashboard_key not in caplog.text


@pytest.fixture(autouse=True)
def fresh_reread_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with the re-read budget a new sandbox has."""
    monkeypatch.setattr(dashboard, "_rereads", dashboard._Budget(dashboard.REREADS_PER_MINUTE))


def _rotate(app: App) -> str:
    new = secrets.token_urlsafe(24)
    boto3.client("secretsmanager").put_secret_value(SecretId="test/dashboard", SecretString=new)
    return new


def test_a_rotation_is_accepted_at_once_and_the_previous_key_until_the_next(app: App) -> None:
    assert _call("/health", app.dashboard_key)[0] == 200  # warm: the key is cached
    rotated = _rotate(app)
    assert _call("/health", rotated)[0] == 200  # newer than the cache: re-read, then accepted
    assert _call("/health", app.dashboard_key)[0] == 200  # AWSPREVIOUS
    newest = _rotate(app)
    assert _call("/health", newest)[0] == 200
    assert _call("/health", rotated)[0] == 200
    assert _call("/health", app.dashboard_key)[0] == 401  # two rotations old


@pytest.fixture
def secret_reads() -> Iterator[list[str]]:
    """The stage of every GetSecretValue the dashboard makes."""
    reads: list[str] = []

    def count(params: dict, **_: object) -> None:
        reads.append(params.get("VersionStage", "AWSCURRENT"))

    events = aws.client("secretsmanager").meta.events
    events.register("provide-client-params.secrets-manager.GetSecretValue", count)
    yield reads
    events.unregister("provide-client-params.secrets-manager.GetSecretValue", count)


def test_wrong_keys_reread_the_secret_a_bounded_number_of_times(
    app: App, secret_reads: list[str]
) -> None:
    assert _call("/health", app.dashboard_key)[0] == 200
    assert secret_reads == ["AWSCURRENT", "AWSPREVIOUS"]  # a cold sandbox reads both once
    for n in range(dashboard.REREADS_PER_MINUTE + 5):
        assert _call("/health", f"wrong-{n}")[0] == 401
    assert len(secret_reads) == 2 + 2 * dashboard.REREADS_PER_MINUTE
    assert _call("/health", app.dashboard_key)[0] == 200  # the cached key still works

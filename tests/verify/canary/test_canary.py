"""The canary is tested before prod relies on it: the health contract it checks, its refusal of
bad keys, and that a rotation of the dashboard's key keeps it green."""

import time
import uuid
from datetime import datetime

import pytest

from tests.verify.deployed import App

pytestmark = pytest.mark.canary
HEALTH_BUDGET_S = 5.0  # the round trip; emulated, without a cold sandbox's init (App.init_seconds)


def test_health_contract(app: App) -> None:
    key = app.api_key()
    started = time.monotonic()
    response = app.get("/health", key)
    elapsed = time.monotonic() - started - app.init_seconds(response)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    if app.shas:
        assert body["version"] in app.shas
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    assert elapsed < HEALTH_BUDGET_S, f"/health took {elapsed:.2f}s beyond any cold start"


@pytest.mark.parametrize("presented", [None, "wrong-key", ""])
def test_bad_key_is_refused_without_leaking_the_key(app: App, presented: str | None) -> None:
    response = app.get("/health", presented)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert app.api_key() not in response.text


def test_canary_passes_against_a_healthy_dashboard(app: App) -> None:
    result = app.invoke("canary", {})
    assert result.ok, result.error
    assert result.payload["ok"] is True
    assert result.payload["status_code"] == 200
    if app.shas:
        assert result.payload["version"] in app.shas


def _put_key(app: App, value: str) -> None:
    """A rotation, as `./pipeline rotate-secret` makes it: a new AWSCURRENT value."""
    app.client("secretsmanager").put_secret_value(SecretId=app.key_secret, SecretString=value)


@pytest.mark.disruptive
def test_a_rotated_key_keeps_the_canary_green_and_the_old_key_working(app: App) -> None:
    """The warm dashboard has the old key cached; the canary presents the new one. The old key
    works until the next rotation (a key two rotations old is refused once a sandbox re-reads,
    which the unit suite shows; which sandbox serves a request is not the suite's to choose).
    Disruptive (it changes the key, then puts the original back as a rotation of its own), so
    it never runs against prod."""
    arn = app.client("secretsmanager").describe_secret(SecretId=app.key_secret)["ARN"]
    refused = app.may("secretsmanager:PutSecretValue", arn)
    if refused:
        pytest.skip(f"cannot rotate the dashboard key here: {refused}")
    original = app.api_key()
    assert app.get("/health", original).status_code == 200  # the dashboard is warm
    rotated = uuid.uuid4().hex
    _put_key(app, rotated)
    try:
        result = app.invoke("canary", {})
        assert result.ok, result.error
        assert result.payload["status_code"] == 200
        assert app.get("/health", original).status_code == 200  # AWSPREVIOUS
        following = uuid.uuid4().hex
        _put_key(app, following)  # the next rotation: now `rotated` is the previous key
        assert app.get("/health", following).status_code == 200
        assert app.get("/health", rotated).status_code == 200
    finally:
        _put_key(app, original)
    assert app.invoke("canary", {}).ok
    assert app.get("/health", original).status_code == 200

"""Canary: probes a real HTTP dashboard on 127.0.0.1 and alerts through SNS when it fails."""

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from news_canary.handler import CanaryFailedError, handler
from pipeline.adapters.emulator import free_port
from tests.http_server import serving
from tests.unit.conftest import App

pytestmark = pytest.mark.unit
Responder = Callable[[str | None], tuple[int, bytes]]


@pytest.fixture
def dashboard_url(app: App, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Serve a scripted /health on 127.0.0.1 and point the canary at it."""
    with ExitStack() as servers:

        def serve(respond: Responder) -> None:
            answer = serving(lambda request: respond(request.headers.get("X-API-Key")))
            monkeypatch.setenv("DASHBOARD_URL", servers.enter_context(answer))

        yield serve


def _healthy(app: App, status: str = "healthy", delay: float = 0.0) -> Responder:
    def respond(key: str | None) -> tuple[int, bytes]:
        time.sleep(delay)
        if key != app.dashboard_key:
            return 401, b'{"error": "unauthorized"}'
        body = {"status": status, "version": "0123abc", "timestamp": "2026-11-22T00:00:00Z"}
        return 200, json.dumps({**body, "checks": {"dynamodb": "ok"}}).encode()

    return respond


def test_passes_against_healthy_dashboard(app: App, dashboard_url: Callable) -> None:
    dashboard_url(_healthy(app))
    report = handler({}, None)
    assert report["ok"] is True
    assert report["version"] == "0123abc"
    assert app.published(app.alerts_queue_url) == []


@pytest.mark.parametrize(
    ("respond", "problem"),
    [
        (lambda app: _healthy(app, status="degraded"), "status is 'degraded'"),
        (lambda app: lambda key: (200, b'{"status": "healthy"}'), "body lacks version"),
        (lambda app: lambda key: (500, b"<html>oops</html>"), "status code 500"),
        (lambda app: _healthy(app, delay=0.3), "exceeds 100 ms"),
    ],
)
def test_failure_alerts_and_raises(
    app: App,
    dashboard_url: Callable,
    monkeypatch: pytest.MonkeyPatch,
    respond: Callable,
    problem: str,
) -> None:
    monkeypatch.setenv("LATENCY_BUDGET_MS", "100")
    dashboard_url(respond(app))
    with pytest.raises(CanaryFailedError, match=problem):
        handler({}, None)
    [alert] = app.published(app.alerts_queue_url)
    assert alert["check"] == "canary"
    assert alert["environment"] == "test"
    assert any(problem in p for p in alert["problems"])


def test_a_refused_key_fails_with_401_without_leaking_it(app: App, dashboard_url: Callable) -> None:
    dashboard_url(lambda key: (401, b'{"error": "unauthorized"}'))
    with pytest.raises(CanaryFailedError, match="status code 401"):
        handler({}, None)
    assert app.dashboard_key not in json.dumps(app.published(app.alerts_queue_url))


def test_unreachable_dashboard_fails(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(CanaryFailedError, match="request failed"):
        handler({}, None)
    assert len(app.published(app.alerts_queue_url)) == 1

"""A fake NewsAPI on 127.0.0.1 that serves one fixture scenario at a time.

Scenarios are the files in `fixtures/newsapi/`, bodies in NewsAPI's own format. The HTTP status
of an error body follows NewsAPI's documented mapping of error codes. The scenario is switched
with `PUT /_fake/scenario/<name>`, so an emulated environment's Lambda can be steered by tests.
Faults: `PUT /_fake/delay/<seconds>` delays every answer (timeouts), `PUT /_fake/reset/<n>`
drops the next n connections without an answer (connection resets).
"""

import json
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ERROR_STATUS = {
    "apiKeyMissing": 401,
    "apiKeyInvalid": 401,
    "apiKeyDisabled": 401,
    "apiKeyExhausted": 429,
    "rateLimited": 429,
    "parameterInvalid": 400,
    "parametersMissing": 400,
    "unexpectedError": 500,
}
SERVED_PATHS = ("/v2/top-headlines", "/v2/everything")


def load_scenarios(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def status_for(body: dict[str, Any]) -> int:
    if body.get("status") == "error":
        return ERROR_STATUS.get(str(body.get("code")), 500)
    return 200


@dataclass
class FakeNewsApi:
    scenarios: dict[str, dict[str, Any]]
    api_key: str
    scenario: str = "happy_path"
    delay: float = 0.0
    resets: int = 0
    requests_seen: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://{HOST}:{self._server.server_address[1]}"

    def use(self, scenario: str) -> None:
        if scenario not in self.scenarios:
            raise KeyError(f"unknown scenario {scenario!r}; known: {', '.join(self.scenarios)}")
        self.scenario = scenario

    def start(self, port: int = 0) -> "FakeNewsApi":
        self._server = _QuietServer((HOST, port), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def respond(self, path: str, api_key: str | None) -> tuple[int, dict[str, Any]]:
        if path.split("?", 1)[0] not in SERVED_PATHS:
            return 404, {"status": "error", "code": "routeNotFound", "message": f"no route {path}"}
        if api_key != self.api_key:
            return 401, self.scenarios.get("api_key_invalid", {"status": "error"})
        body = self.scenarios[self.scenario]
        return status_for(body), body


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (a timeout test) is expected, not an error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(fake: FakeNewsApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.requests_seen.append(self.path)
            if fake.resets > 0:
                fake.resets -= 1
                # SO_LINGER 0: close with RST, as a dropped upstream connection does.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            time.sleep(fake.delay)
            status, body = fake.respond(self.path, self.headers.get("X-Api-Key"))
            self._send(status, body)

        def do_PUT(self) -> None:
            control, _, value = self.path.removeprefix("/_fake/").partition("/")
            try:
                if control == "scenario":
                    fake.use(value)
                elif control == "delay":
                    fake.delay = float(value)
                elif control == "reset":
                    fake.resets = int(value)
                else:
                    self._send(404, {"error": "unknown control path"})
                    return
            except (KeyError, ValueError) as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, {"scenario": fake.scenario, "delay": fake.delay, "resets": fake.resets})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence per-request logging: the API key must never reach a log."""

    return Handler

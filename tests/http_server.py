"""HTTP servers on 127.0.0.1 for tests: a scripted one (one function answers each request), and a
webhook that keeps every POST it receives."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Condition, Thread
from typing import Any

# The request (its method, path, headers and unread body) → the status and body to answer with.
Respond = Callable[[BaseHTTPRequestHandler], tuple[int, bytes]]


@contextmanager
def serving(respond: Respond) -> Iterator[str]:
    """Serve `respond` until the block ends; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            status, body = respond(self)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # respond reads the body from the handler when it wants it

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Webhook:
    """The JSON bodies POSTed to a webhook, in arrival order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bodies: list[dict[str, Any]] = []
        self.arrived = Condition()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """At least `count` bodies, or as many as arrived within `timeout`."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.bodies) >= count, timeout)
            return list(self.bodies)


@contextmanager
def webhook() -> Iterator[Webhook]:
    """A webhook endpoint that answers 200 to every POST and keeps its JSON body."""
    hook: Webhook

    def keep(handler: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        with hook.arrived:
            hook.bodies.append(json.loads(body))
            hook.arrived.notify_all()
        return 200, b""

    with serving(keep) as url:
        hook = Webhook(f"{url}/hooks/alerts")
        yield hook

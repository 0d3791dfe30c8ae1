"""A Function URL on 127.0.0.1: real HTTP in, payload format 2.0 to the function, HTTP out.

It stands in for `https://<id>.lambda-url.<region>.on.aws/` of the function's alias, so callers
(the canary, the suites, a browser) use it exactly like the real URL."""

import base64
import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pipeline.runtime.functions import ALIAS, Runtime

HOST = "127.0.0.1"
MAX_BODY = 6 * 1024 * 1024  # Lambda's synchronous payload limit


def request_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The payload 2.0 event Lambda builds for a Function URL request."""
    parts = urlsplit(raw_path)
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    text_body = body.decode("utf-8") if body else None
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "emulated",
            "domainName": headers.get("host", HOST),
            "domainPrefix": "emulated",
            "http": {
                "method": method,
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if text_body is not None:
        event["body"] = text_body
    return event


def http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Lambda's translation of a handler result: a dict with statusCode is a full response;
    anything else is a 200 JSON body."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result["statusCode"]), headers, raw
    return 200, {"content-type": "application/json"}, json.dumps(result).encode()


class FunctionUrl:
    """Serves one function alias until stopped; `url` ends with a slash, as AWS's does."""

    def __init__(self, runtime: Runtime, function: str, qualifier: str = ALIAS) -> None:
        self.runtime = runtime
        self.function = function
        self.qualifier = qualifier
        self.served = 0
        self._server = ThreadingHTTPServer((HOST, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}/"

    def __enter__(self) -> "FunctionUrl":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        shim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._send(413, {}, b'{"Message":"Request must be smaller than 6291456 bytes"}')
                    return
                body = self.rfile.read(length) if length else b""
                headers: dict[str, str] = {}
                for key, value in self.headers.items():
                    name = key.lower()
                    headers[name] = f"{headers[name]},{value}" if name in headers else value
                event = request_event(
                    self.command, self.path, headers, body, self.client_address[0]
                )
                try:
                    invocation = shim.runtime.invoke(shim.function, event, shim.qualifier)
                except Exception:  # the emulator went away: what Lambda's front end says
                    self._send(502, {}, b'{"Message":"Internal Server Error"}', "")
                    return
                shim.served += 1
                if not invocation.ok:
                    status = 504 if "Timedout" in str(invocation.error) else 502
                    body = b'{"Message":"Internal Server Error"}'
                    self._send(status, {}, body, invocation.request_id)
                    return
                self._send(*http_response(invocation.payload), invocation.request_id)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

            def _send(
                self, status: int, headers: dict[str, str], body: bytes, request_id: str
            ) -> None:
                """`request_id` is the invocation's, as the real URL's X-Amzn-RequestId is, so
                its REPORT line can be found; a request that reached no function gets a new one."""
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in {"content-length", "connection"}:
                        self.send_header(key, value)
                if "content-type" not in {k.lower() for k in headers}:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Amzn-RequestId", request_id or str(uuid.uuid4()))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Requests carry X-API-Key; nothing about them is logged."""

        return Handler

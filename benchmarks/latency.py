"""A relay that adds a fixed round trip to every request to the emulator, as AWS's network does.

moto answers a call in a few milliseconds of its own CPU, one call at a time, so on a small
machine N calls cost N times one call whatever the client's concurrency. A call to AWS is mostly
waiting (tens of milliseconds of network and service time), which concurrent calls overlap.
Run in its own process, so its work does not compete with the measured client for the GIL:
  python benchmarks/latency.py <upstream endpoint> <delay ms>   (prints its own endpoint)
"""

import http.client
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def serve(upstream: str, delay: float) -> None:
    parts = urlsplit(upstream)
    local = threading.local()

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            time.sleep(delay)
            if not hasattr(local, "connection"):
                local.connection = http.client.HTTPConnection(parts.hostname, parts.port)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body is not None:
                headers["Content-Length"] = str(len(body))
            local.connection.request(self.command, self.path, body=body, headers=headers)
            response = local.connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            declared = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", declared or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _relay

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the benchmark prints its own figures."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def start(upstream: str, delay_ms: float) -> tuple[subprocess.Popen, str]:
    """The relay process and its endpoint."""
    process = subprocess.Popen(
        [sys.executable, __file__, upstream, str(delay_ms)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]) / 1000)

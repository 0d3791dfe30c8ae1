"""An advisory database on 127.0.0.1 that answers in OSV's format, for the dependency audit's
tests: the advisory is OSV's document for CVE-2024-35195, served for whichever versions a test
says are affected."""

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from tests.conftest import REPO

ADVISORY = json.loads((REPO / "fixtures" / "osv" / "GHSA-9wx4-h78v-vm56.json").read_text())


def osv(affected: Callable[[str, str], bool], asked: list) -> Callable:
    """An OSV stand-in: querybatch names ADVISORY for the versions `affected` picks."""

    def respond(handler: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        if handler.command == "POST" and handler.path == "/v1/querybatch":
            body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
            asked.extend(body["queries"])
            results = [
                {"vulns": [{"id": ADVISORY["id"], "modified": ADVISORY["modified"]}]}
                if affected(q["package"]["name"], q["version"]) else {}
                for q in body["queries"]
            ]  # fmt: skip
            return 200, json.dumps({"results": results}).encode()
        if handler.path == f"/v1/vulns/{ADVISORY['id']}":
            return 200, json.dumps(ADVISORY).encode()
        return 404, b"{}"

    return respond

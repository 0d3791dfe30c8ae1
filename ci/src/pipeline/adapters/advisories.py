"""OSV (osv.dev), the advisory database the dependency audit asks: which of these exact PyPI
versions have known vulnerabilities, and what each one is.

OSV aggregates the PyPA advisory database and GitHub's, and answers a whole lock file in one
batch query. Its address can be replaced (`PIPELINE_ADVISORY_URL`): a mirror, or the recorded
responses the tests serve on 127.0.0.1."""

import os
from dataclasses import dataclass
from typing import Any

import requests

DEFAULT_URL = "https://api.osv.dev"
URL_ENV = "PIPELINE_ADVISORY_URL"
TIMEOUT = 10.0
BATCH = 1000  # OSV's limit of queries per querybatch call


class Unreachable(Exception):
    """No answer from the advisory database: the audit did not happen."""


@dataclass(frozen=True)
class Advisory:
    id: str
    summary: str
    fixed: tuple[str, ...]  # the versions that fix it, for the package asked about


def url() -> str:
    return os.environ.get(URL_ENV, "").rstrip("/") or DEFAULT_URL


def known(packages: list[tuple[str, str]]) -> dict[tuple[str, str], list[Advisory]]:
    """(name, version) → the advisories affecting exactly that version; only affected ones."""
    base, found = url(), {}
    for start in range(0, len(packages), BATCH):
        chunk = packages[start : start + BATCH]
        queries = [{"package": {"name": n, "ecosystem": "PyPI"}, "version": v} for n, v in chunk]
        results = _call("POST", f"{base}/v1/querybatch", {"queries": queries}).get("results", [])
        if len(results) != len(chunk):
            raise Unreachable(f"{base} answered {len(results)} results for {len(chunk)} queries")
        for package, result in zip(chunk, results, strict=True):
            ids = [v["id"] for v in result.get("vulns") or []]
            if ids:
                found[package] = [_advisory(base, i, package[0]) for i in ids]
    return found


def _advisory(base: str, vuln_id: str, package: str) -> Advisory:
    data = _call("GET", f"{base}/v1/vulns/{vuln_id}")
    fixed = [
        event["fixed"]
        for affected in data.get("affected", [])
        if _normal(affected.get("package", {}).get("name", "")) == _normal(package)
        for span in affected.get("ranges", [])
        for event in span.get("events", [])
        if "fixed" in event
    ]
    return Advisory(vuln_id, data.get("summary") or data.get("details", "")[:120], tuple(fixed))


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _call(method: str, address: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        response = requests.request(method, address, json=body, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise Unreachable(f"{address}: {type(exc).__name__}") from None

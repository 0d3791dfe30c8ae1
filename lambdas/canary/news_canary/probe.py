"""One health probe of the dashboard: status code, body structure, health and latency."""

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

REQUIRED_KEYS = ("status", "version", "timestamp", "checks")


@dataclass
class ProbeResult:
    status_code: int
    latency_ms: float
    problems: list[str] = field(default_factory=list)
    version: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def probe(url: str, api_key: str, budget_ms: float, timeout: float) -> ProbeResult:
    # The URL comes from Terraform-set configuration, never from a caller.
    request = urllib.request.Request(url.rstrip("/") + "/health", headers={"X-API-Key": api_key})  # noqa: S310
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        latency = (time.monotonic() - started) * 1000
        return ProbeResult(0, latency, [f"request failed: {type(exc).__name__}"])
    result = ProbeResult(status, (time.monotonic() - started) * 1000)
    if status != 200:
        result.problems.append(f"status code {status}, expected 200")
    try:
        body = json.loads(raw)
    except ValueError:
        result.problems.append("body is not JSON")
        return result
    missing = [key for key in REQUIRED_KEYS if not isinstance(body, dict) or key not in body]
    if missing:
        result.problems.append(f"body lacks {', '.join(missing)}")
        return result
    result.version = body["version"]
    if body["status"] != "healthy":
        result.problems.append(f"status is {body['status']!r}, expected 'healthy'")
    if result.latency_ms > budget_ms:
        result.problems.append(f"latency {result.latency_ms:.0f} ms exceeds {budget_ms:.0f} ms")
    return result

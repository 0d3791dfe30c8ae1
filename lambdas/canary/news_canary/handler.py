"""Canary entry point: probe, and on failure alert the alerts topic and raise."""

import json
import os
from typing import Any

from news_canary.probe import probe
from news_common import aws
from news_common.config import number, require
from news_common.logs import get_logger
from news_common.secrets import get_secret

log = get_logger(__name__)


class CanaryFailedError(RuntimeError):
    """The dashboard failed its health probe; the alert has been published."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    url = require("DASHBOARD_URL")
    result = probe(
        url,
        get_secret(require("DASHBOARD_SECRET_NAME"), fresh=True),
        budget_ms=number("LATENCY_BUDGET_MS", 2000),
        timeout=number("PROBE_TIMEOUT_SECONDS", 5),
    )
    report = {
        "ok": result.ok,
        "status_code": result.status_code,
        "latency_ms": round(result.latency_ms, 1),
        "version": result.version,
        "problems": result.problems,
    }
    if result.ok:
        log.info("canary passed", extra={"fields": report})
        return report
    environment = os.environ.get("ENVIRONMENT", "unknown")
    aws.client("sns").publish(
        TopicArn=require("ALERTS_TOPIC_ARN"),
        Subject=f"[{environment}] dashboard canary failed"[:100],
        Message=json.dumps({"check": "canary", "environment": environment, **report}),
    )
    log.error("canary failed", extra={"fields": report})
    raise CanaryFailedError("; ".join(result.problems))

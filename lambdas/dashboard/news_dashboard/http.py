"""Payload format 2.0 helpers: reading requests and building JSON responses."""

import json
from decimal import Decimal
from typing import Any


def json_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "cache-control": "no-store"},
        "body": json.dumps(body, default=_decimal, ensure_ascii=False),
    }


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def header(event: dict[str, Any], name: str) -> str | None:
    """Function URLs lower-case header names; compare case-insensitively anyway."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def method_and_path(event: dict[str, Any]) -> tuple[str, str]:
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("method", "GET")).upper(), str(
        event.get("rawPath") or http.get("path") or "/"
    )

"""Dashboard routes. Every route requires X-API-Key, compared in constant time."""

import hmac
import os
import time
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from news_common import aws, items
from news_common.config import require
from news_common.logs import get_logger
from news_common.secrets import accepted_values
from news_dashboard.http import header, json_response, method_and_path

log = get_logger(__name__)
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
# Secrets Manager re-reads a refused key may cause, per sandbox (each is a billed API call).
REREADS_PER_MINUTE = 10


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method, path = method_and_path(event)
    if not _authorised(header(event, "x-api-key")):
        return json_response(
            401, {"error": "unauthorized", "message": "missing or invalid X-API-Key"}
        )
    route = _ROUTES.get(path)
    if route is None:
        return json_response(404, {"error": "not_found", "message": f"no route {path}"})
    if method != "GET":
        return json_response(405, {"error": "method_not_allowed", "message": "use GET"})
    table = aws.table(require("ITEMS_TABLE"))
    return route(table, event.get("queryStringParameters") or {})


def _authorised(presented: str | None) -> bool:
    """The key's current or previous value. A refused key re-reads both before it is refused,
    since a rotation may be newer than this sandbox's cache; a flood of wrong keys re-reads
    them at most REREADS_PER_MINUTE times."""
    if presented is None:
        return False
    name = require("DASHBOARD_SECRET_NAME")
    if _matches(presented, accepted_values(name)):
        return True
    return _rereads.take() and _matches(presented, accepted_values(name, fresh=True))


def _matches(presented: str, accepted: list[str]) -> bool:
    given = presented.encode("utf-8")
    # Every value is compared, so the time taken does not tell which one was close.
    results = [hmac.compare_digest(given, value.encode("utf-8")) for value in accepted]
    return any(results)


class _Budget:
    """At most `per_minute` takes in any sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.taken: deque[float] = deque()

    def take(self) -> bool:
        now = time.monotonic()
        while self.taken and now - self.taken[0] >= 60.0:
            self.taken.popleft()
        if len(self.taken) >= self.per_minute:
            return False
        self.taken.append(now)
        return True


_rereads = _Budget(REREADS_PER_MINUTE)


def _health(table: Any, query: dict[str, str]) -> dict[str, Any]:
    try:
        status = table.meta.client.describe_table(TableName=table.name)["Table"]["TableStatus"]
        dynamodb = "ok" if status == "ACTIVE" else f"table {status}"
    except (ClientError, BotoCoreError) as exc:
        dynamodb = f"error: {type(exc).__name__}"
    healthy = dynamodb == "ok"
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "version": os.environ.get("APP_VERSION", "unknown"),
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "checks": {"dynamodb": dynamodb},
    }
    return json_response(200 if healthy else 503, body)


def _items(table: Any, query: dict[str, str]) -> dict[str, Any]:
    raw = query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        return json_response(
            400, {"error": "bad_request", "message": f"limit must be an integer 1..{MAX_LIMIT}"}
        )
    result = table.query(
        IndexName=items.STATUS_INDEX,
        KeyConditionExpression=Key(items.STATUS).eq(items.ANALYZED),
        ScanIndexForward=False,
        Limit=int(raw),
    )
    return json_response(200, {"items": result["Items"], "count": len(result["Items"])})


def _stats(table: Any, query: dict[str, str]) -> dict[str, Any]:
    counts: Counter[str] = Counter({label: 0 for label in items.SENTIMENTS})
    kwargs: dict[str, Any] = {
        "IndexName": items.STATUS_INDEX,
        "KeyConditionExpression": Key(items.STATUS).eq(items.ANALYZED),
        "ProjectionExpression": "sentiment",
    }
    while True:
        page = table.query(**kwargs)
        counts.update(item["sentiment"] for item in page["Items"] if "sentiment" in item)
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return json_response(200, {"sentiment": dict(counts), "total": sum(counts.values())})


_ROUTES = {"/health": _health, "/items": _items, "/stats": _stats}

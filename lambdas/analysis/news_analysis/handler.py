"""Analysis entry point: an SQS batch handler that reports partial batch failures."""

import json
from datetime import UTC, datetime
from typing import Any

from news_analysis.sentiment import score
from news_common import aws, items
from news_common.config import require
from news_common.logs import get_logger

log = get_logger(__name__)


class PoisonMessageError(ValueError):
    """A message that will never succeed; SQS redrives it to the DLQ after maxReceiveCount."""


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    table = aws.table(require("ITEMS_TABLE"))
    failures = []
    for record in event.get("Records", []):
        try:
            _analyse(table, item_id(record.get("body", "")))
        except Exception as exc:
            log.warning(
                "record failed",
                extra={"fields": {"messageId": record.get("messageId"), "error": str(exc)}},
            )
            failures.append({"itemIdentifier": record.get("messageId", "")})
    return {"batchItemFailures": failures}


def item_id(body: str) -> str:
    """Accept both raw SNS delivery and the SNS envelope, so the subscription setting can change."""
    try:
        message = json.loads(body)
        if isinstance(message, dict) and message.get("Type") == "Notification":
            message = json.loads(message["Message"])
        value = message["id"]
    except (ValueError, KeyError, TypeError):
        raise PoisonMessageError("message body is not {'id': ...} JSON") from None
    if not isinstance(value, str) or not value:
        raise PoisonMessageError("message id is not a non-empty string")
    return value


def _analyse(table: Any, key: str) -> None:
    found = table.get_item(Key={items.ID: key}).get("Item")
    if found is None:
        raise PoisonMessageError(f"item {key} does not exist")
    label, compound = score(found["title"], found.get("description", ""))
    table.update_item(
        Key={items.ID: key},
        UpdateExpression="SET #s = :s, sentiment = :l, compound = :c, analyzed_at = :t",
        ConditionExpression="attribute_exists(id)",
        ExpressionAttributeNames={"#s": items.STATUS},
        ExpressionAttributeValues={
            ":s": items.ANALYZED,
            ":l": label,
            ":c": compound,
            ":t": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )

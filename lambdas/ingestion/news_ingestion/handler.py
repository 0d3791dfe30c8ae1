"""Ingestion entry point: fetch, normalise, dedupe with a conditional put, publish for analysis."""

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from news_common import aws, items
from news_common.config import number, require
from news_common.logs import get_logger
from news_common.secrets import get_secret
from news_ingestion.articles import normalise
from news_ingestion.newsapi import fetch_articles

log = get_logger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    table = aws.table(require("ITEMS_TABLE"))
    topic_arn = require("ANALYSIS_TOPIC_ARN")
    api_key = get_secret(require("NEWSAPI_SECRET_NAME"))
    articles = fetch_articles(
        require("NEWSAPI_BASE_URL"),
        require("NEWSAPI_PATH"),
        json.loads(require("NEWSAPI_QUERY")),
        api_key,
        timeout=number("NEWSAPI_TIMEOUT_SECONDS", 5.0),
        max_retries=int(number("NEWSAPI_MAX_RETRIES", 3)),
        backoff=number("NEWSAPI_BACKOFF_SECONDS", 0.5),
    )
    counts = {"fetched": len(articles), "stored": 0, "duplicates": 0, "skipped": 0}
    sns = aws.client("sns")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for article in articles:
        item = normalise(article)
        if item is None:
            counts["skipped"] += 1
            continue
        if not _put_new(table, {**item, items.STATUS: items.PENDING, "ingested_at": now}):
            counts["duplicates"] += 1
            continue
        try:
            sns.publish(TopicArn=topic_arn, Message=json.dumps({"id": item["id"]}))
        except Exception:
            # Without its message the item would stay pending forever; undo the put so the next
            # run stores and publishes it again.
            table.delete_item(Key={items.ID: item["id"]})
            raise
        counts["stored"] += 1
    log.info("ingestion finished", extra={"fields": counts})
    return counts


def _put_new(table: Any, item: dict[str, str]) -> bool:
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True

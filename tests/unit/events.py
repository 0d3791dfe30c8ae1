"""Builders for the Lambda events AWS delivers, so tests feed handlers the real shapes."""

import json
import uuid
from typing import Any


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
                "awsRegion": "eu-west-1",
            }
            for body in bodies
        ]
    }


def sns_envelope(message: dict[str, Any]) -> str:
    return json.dumps(
        {"Type": "Notification", "MessageId": str(uuid.uuid4()), "Message": json.dumps(message)}
    )


def function_url_event(
    path: str, api_key: str | None, query: dict[str, str] | None = None, method: str = "GET"
) -> dict[str, Any]:
    """Payload format 2.0, as a Function URL sends it (header names lower-cased)."""
    headers = {"host": "abc.lambda-url.eu-west-1.on.aws", "user-agent": "pytest"}
    if api_key is not None:
        headers["x-api-key"] = api_key
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": headers,
        "queryStringParameters": query,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"}},
        "isBase64Encoded": False,
    }

"""EventBridge schedules, fired on demand: "run ingestion now" delivers the same event the rule
would deliver at its next tick, to the same target."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pipeline.runtime.functions import Invocation, Runtime


def scheduled_event(rule_arn: str, region: str, account: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def fire(runtime: Runtime, rule: str) -> list[Invocation]:
    """Invoke every Lambda target of the rule, with its configured Input if it has one."""
    events = runtime.target.client("events")
    rule_arn = events.describe_rule(Name=rule)["Arn"]
    account = rule_arn.split(":")[4]
    invocations = []
    for target in events.list_targets_by_rule(Rule=rule)["Targets"]:
        arn = target["Arn"]
        if ":lambda:" not in arn:
            continue
        parts = arn.split(":")
        function, qualifier = parts[6], parts[7] if len(parts) > 7 else "$LATEST"
        payload = (
            json.loads(target["Input"])
            if "Input" in target
            else scheduled_event(rule_arn, runtime.target.region, account)
        )
        invocations.append(runtime.invoke(function, payload, qualifier))
    return invocations

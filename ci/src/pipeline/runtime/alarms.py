"""CloudWatch, emulated: the metrics AWS would emit, and alarm evaluation on demand.

moto stores metrics and alarms but never evaluates an alarm, and no AWS service emits metrics
into it. So the runtime emits Lambda's Invocations/Errors/Duration per invocation, `evaluate`
samples SQS queue depths (as CloudWatch does every minute), then applies each alarm's own rule
(statistic, period, evaluation periods, threshold, comparison, missing data) and sets its state.
A state change notifies the alarm's actions for the new state with CloudWatch's own message, so
alerts reach the topic's subscribers as they would on AWS.

Emulated time runs 60x faster, as the emulated soaks do (seconds where AWS takes minutes): an
alarm with a 5-minute period looks at the last 5 seconds of data."""

import contextlib
import json
import operator
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

if TYPE_CHECKING:  # the target adapter reaches this module; importing it back would be a cycle
    from pipeline.adapters.target import Target

TIME_SCALE = 60
ACTIONS = {
    "ALARM": "AlarmActions",
    "OK": "OKActions",
    "INSUFFICIENT_DATA": "InsufficientDataActions",
}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def lambda_metrics(function: str, failed: bool, duration_ms: float) -> list[dict[str, Any]]:
    dimensions = [{"Name": "FunctionName", "Value": function}]
    return [
        {"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1, "Unit": "Count"},
        {"MetricName": "Errors", "Dimensions": dimensions, "Value": int(failed), "Unit": "Count"},
        {"MetricName": "Duration", "Dimensions": dimensions, "Value": duration_ms,
         "Unit": "Milliseconds"},
    ]  # fmt: skip


def sample_queue_depths(target: "Target", prefix: str) -> None:
    sqs, cloudwatch = target.client("sqs"), target.client("cloudwatch")
    for url in sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []):
        visible = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        cloudwatch.put_metric_data(
            Namespace="AWS/SQS",
            MetricData=[{
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": url.rsplit("/", 1)[1]}],
                "Value": int(visible),
                "Unit": "Count",
            }],
        )  # fmt: skip


def breaching(alarm: dict[str, Any], datapoints: list[dict[str, Any]]) -> bool | None:
    """Whether the alarm's rule is met; None when there is no data to judge."""
    statistic = alarm.get("Statistic", "Average")
    compare = COMPARISONS[alarm["ComparisonOperator"]]
    if not datapoints:
        return {"breaching": True, "notBreaching": False}.get(
            alarm.get("TreatMissingData", "missing")
        )
    needed = alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"]
    hits = sum(compare(float(point[statistic]), float(alarm["Threshold"])) for point in datapoints)
    # Periods without data count as the alarm says: breaching, not breaching, or (missing,
    # ignore) left out, judging the periods that have data.
    treat = alarm.get("TreatMissingData", "missing")
    if treat == "breaching":
        hits += max(0, alarm["EvaluationPeriods"] - len(datapoints))
    elif treat != "notBreaching":
        needed = min(needed, len(datapoints))
    return hits >= needed


def evaluate(target: "Target", prefix: str, now: datetime | None = None) -> dict[str, str]:
    """Evaluate every metric alarm whose name starts with `prefix`; returns name → state. This is
    CloudWatch's own work, so it calls as the service, whoever asks."""
    target = target.as_service()
    sample_queue_depths(target, prefix)
    cloudwatch = target.client("cloudwatch")
    now = now or datetime.now(UTC)
    states = {}
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix)
    for alarm in (a for page in pages for a in page["MetricAlarms"]):
        if "MetricName" not in alarm:
            continue  # metric-math alarms are not emulated
        period = max(1, round(alarm["Period"] / TIME_SCALE))
        window = timedelta(seconds=period * alarm["EvaluationPeriods"])
        datapoints = cloudwatch.get_metric_statistics(
            Namespace=alarm["Namespace"],
            MetricName=alarm["MetricName"],
            Dimensions=alarm.get("Dimensions", []),
            StartTime=now - window,
            EndTime=now + timedelta(seconds=1),
            Period=period,
            Statistics=[alarm.get("Statistic", "Average")],
        )["Datapoints"]
        verdict = breaching(alarm, datapoints)
        state = {True: "ALARM", False: "OK", None: "INSUFFICIENT_DATA"}[verdict]
        if state != alarm["StateValue"]:
            reason = f"emulated evaluation of {len(datapoints)} datapoint(s)"
            cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue=state, StateReason=reason
            )
            notify(target, alarm, state, reason, now)
        states[alarm["AlarmName"]] = state
    return states


def notify(target: "Target", alarm: dict[str, Any], state: str, reason: str, at: datetime) -> None:
    """Publish CloudWatch's state-change message to each SNS action of the new state. A failed
    delivery fails no evaluation, as on AWS, where it only shows in the alarm's history (moto
    answers a publish whose HTTP subscriber is down with an HTML 500, hence the parser error)."""
    region = alarm["AlarmArn"].split(":")[3]
    message = json.dumps({
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": alarm["AlarmArn"].split(":")[4],
        "NewStateValue": state,
        "NewStateReason": reason,
        "StateChangeTime": at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "Region": region,
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": alarm["StateValue"],
        "Trigger": {
            "MetricName": alarm["MetricName"],
            "Namespace": alarm["Namespace"],
            "Statistic": alarm.get("Statistic", "Average").upper(),
            "Dimensions": [{"name": d["Name"], "value": d["Value"]}
                           for d in alarm.get("Dimensions", [])],
            "Period": alarm["Period"],
            "EvaluationPeriods": alarm["EvaluationPeriods"],
            "ComparisonOperator": alarm["ComparisonOperator"],
            "Threshold": float(alarm["Threshold"]),
            "TreatMissingData": alarm.get("TreatMissingData", "missing"),
        },
    })  # fmt: skip
    subject = f'{state}: "{alarm["AlarmName"]}" in {region}'[:100]
    sns = target.client("sns")
    for action in alarm.get(ACTIONS[state], []):
        if ":sns:" in action:
            with contextlib.suppress(ClientError, ResponseParserError):
                sns.publish(TopicArn=action, Subject=subject, Message=message)

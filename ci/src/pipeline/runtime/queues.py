"""An SQS event source mapping, emulated: poll, invoke with batches, delete what succeeded.

The semantics are Lambda's: a function error leaves the whole batch to reappear after the
queue's visibility timeout; with ReportBatchItemFailures only the reported messages stay. The
queue's own redrive policy (moto implements it on receive) moves a message that keeps failing to
the DLQ after maxReceiveCount receives.

The emulated clock skips the visibility timeout: what stays is made visible again at once. Each
retry is still a receive, so the redrive happens after the same number of failed deliveries as
on AWS, where each of them waits out the timeout (18 minutes for a poison message)."""

import time
from dataclasses import dataclass, field
from typing import Any

from pipeline.runtime.functions import ALIAS, Invocation, Runtime

# moto's control of a mapping is disabled in emulated environments (see terraform.py), so the
# pipeline is the only consumer; it keeps the mapping's batch size and response types.
DRAIN_TIMEOUT = 120.0
IDLE_POLL_SECONDS = 0.2


@dataclass
class Mapping:
    queue_url: str
    queue_arn: str
    function: str
    batch_size: int
    report_item_failures: bool


@dataclass
class DrainReport:
    batches: int = 0
    delivered: int = 0
    deleted: int = 0
    failed_invocations: list[Invocation] = field(default_factory=list)
    seconds: float = 0.0


def mappings(runtime: Runtime, function: str) -> list[Mapping]:
    """The function's SQS mappings, each bound to the function's `live` alias as configured.

    moto stores a mapping's FunctionArn resolved to a version and cannot filter by name, so the
    mappings are matched on the function name part of the ARN."""
    lam = runtime.target.client("lambda")
    sqs = runtime.target.client("sqs")
    found = []
    pages = lam.get_paginator("list_event_source_mappings").paginate()
    for esm in (m for page in pages for m in page["EventSourceMappings"]):
        arn = esm["EventSourceArn"]
        if ":sqs:" not in arn or esm["FunctionArn"].split(":")[6] != function:
            continue
        account, name = arn.split(":")[4], arn.split(":")[5]
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        found.append(
            Mapping(
                queue_url=url,
                queue_arn=arn,
                function=function,
                batch_size=int(esm.get("BatchSize", 10)),
                report_item_failures="ReportBatchItemFailures"
                in esm.get("FunctionResponseTypes", []),
            )
        )
    return found


def _record(message: dict[str, Any], mapping: Mapping, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.queue_arn,
        "awsRegion": region,
    }


def _failed_ids(invocation: Invocation, mapping: Mapping, ids: set[str]) -> set[str]:
    """Which messages stay on the queue after this invocation."""
    if not invocation.ok:
        return ids
    if not mapping.report_item_failures or not isinstance(invocation.payload, dict):
        return set()
    reported = invocation.payload.get("batchItemFailures") or []
    failed = {str(item.get("itemIdentifier")) for item in reported if isinstance(item, dict)}
    # Lambda treats an identifier it does not know (or an empty one) as a failed batch.
    return ids if failed - ids else failed


def poll_once(runtime: Runtime, mapping: Mapping, report: DrainReport) -> int:
    """Receive one batch and deliver it; returns how many messages were received. Lambda polls
    with the function's own role."""
    sqs = runtime.as_function(mapping.function).client("sqs")
    messages = sqs.receive_message(
        QueueUrl=mapping.queue_url,
        MaxNumberOfMessages=min(mapping.batch_size, 10),
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    ).get("Messages", [])
    if not messages:
        return 0
    event = {"Records": [_record(m, mapping, runtime.target.region) for m in messages]}
    invocation = runtime.invoke(mapping.function, event, ALIAS)
    report.batches += 1
    report.delivered += len(messages)
    if not invocation.ok:
        report.failed_invocations.append(invocation)
    failed = _failed_ids(invocation, mapping, {m["MessageId"] for m in messages})
    done = [m for m in messages if m["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        sqs.delete_message_batch(
            QueueUrl=mapping.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                     for i, m in enumerate(done[start : start + 10])],
        )  # fmt: skip
    report.deleted += len(done)
    _expire_visibility(runtime, mapping, [m for m in messages if m["MessageId"] in failed])
    return len(messages)


def _expire_visibility(runtime: Runtime, mapping: Mapping, kept: list[dict[str, Any]]) -> None:
    """End the visibility timeout of the messages a delivery left on the queue (one receive's,
    so at most ten: one batch call). It is time passing, not a call of the function's role, so
    it is signed as the AWS service."""
    if not kept:
        return
    runtime.target.client("sqs").change_message_visibility_batch(
        QueueUrl=mapping.queue_url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                 for i, m in enumerate(kept)],
    )  # fmt: skip


def in_queue(runtime: Runtime, mapping: Mapping) -> int:
    """Visible plus in-flight messages: zero means the mapping has nothing left to deliver."""
    attributes = (
        runtime.as_function(mapping.function)
        .client("sqs")
        .get_queue_attributes(
            QueueUrl=mapping.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    )
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def drain(runtime: Runtime, mapping: Mapping, timeout: float = DRAIN_TIMEOUT) -> DrainReport:
    """Deliver until the queue is empty, in flight included."""
    report = DrainReport()
    started = time.monotonic()
    while True:
        if poll_once(runtime, mapping, report) == 0:
            if in_queue(runtime, mapping) == 0:
                break
            if time.monotonic() - started > timeout:
                raise TimeoutError(
                    f"{mapping.queue_url} still has messages after {timeout:.0f}s of polling"
                )
            time.sleep(IDLE_POLL_SECONDS)
    report.seconds = time.monotonic() - started
    return report

"""How the deployed application fails: upstream errors, poison messages and the DLQ alarm."""

import json
import uuid

import pytest

from tests.verify.deployed import App
from tests.verify.integration.test_end_to_end import stats

pytestmark = pytest.mark.integration
DLQ_ALARM_THRESHOLD = 5  # terraform/modules/app/alarms.tf: analysis-dlq-depth


@pytest.mark.parametrize(
    ("scenario", "error_type"),
    [("rate_limited", "RateLimitedError"), ("api_key_invalid", "ApiKeyInvalidError")],
)
def test_upstream_rejection_raises_and_writes_nothing(
    app: App, scenario: str, error_type: str
) -> None:
    if not app.newsapi_url:
        pytest.skip("scenarios need the fake NewsAPI; set NEWSFLOW_NEWSAPI_URL")
    before = stats(app)
    app.set_newsapi_scenario(scenario)
    try:
        result = app.run_schedule("ingestion")
    finally:
        app.set_newsapi_scenario("happy_path")
    assert not result.ok
    assert result.error["errorType"] == error_type
    assert app.queue_depth(app.outputs["analysis_queue_url"], in_flight=True) == 0
    assert stats(app) == before


def _pending_item(app: App) -> str:
    item_id = f"integration-{uuid.uuid4().hex}"
    app.client("dynamodb").put_item(
        TableName=app.outputs["items_table_name"],
        Item={
            "id": {"S": item_id},
            "status": {"S": "pending"},
            "title": {"S": "Volunteers celebrate a wonderful, successful harvest"},
            "url": {"S": f"https://example.org/{item_id}"},
        },
    )
    return item_id


def test_poison_messages_reach_the_dlq_and_raise_its_alarm(app: App) -> None:
    sqs = app.client("sqs")
    queue, dlq = app.outputs["analysis_queue_url"], app.outputs["analysis_dlq_url"]
    good = [_pending_item(app) for _ in range(2)]
    marker = uuid.uuid4().hex
    poison = [f"not json {marker} {n}" for n in range(DLQ_ALARM_THRESHOLD + 1)]
    bodies = [json.dumps({"id": item_id}) for item_id in good] + poison
    sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)],
    )
    try:
        app.drain_analysis()
        table = app.outputs["items_table_name"]
        for item_id in good:
            item = app.client("dynamodb").get_item(TableName=table, Key={"id": {"S": item_id}})
            assert item["Item"]["status"]["S"] == "analyzed"
            assert item["Item"]["sentiment"]["S"] == "positive"
        alarm = f"{app.env}-analysis-dlq-depth"
        assert app.alarm_states(want={alarm: "ALARM"})[alarm] == "ALARM"
        in_dlq = set(app.take_all(dlq))
        assert {body for body in in_dlq if marker in body} == set(poison)
        assert not in_dlq & set(bodies[: len(good)])
    finally:
        # The alarm stays in ALARM until its 5-minute period has passed, as on AWS.
        app.take_all(dlq)
        for item_id in good:
            app.client("dynamodb").delete_item(
                TableName=app.outputs["items_table_name"], Key={"id": {"S": item_id}}
            )

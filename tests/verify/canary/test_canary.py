"""The canary is tested before prod relies on it: the health contract it checks, its refusal of
bad keys, and that it fails loudly (an alert) when the dashboard stops accepting its key."""

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.verify.deployed import App

pytestmark = pytest.mark.canary
HEALTH_BUDGET_S = 5.0  # the round trip; emulated, without a cold sandbox's init (App.init_seconds)


def test_health_contract(app: App) -> None:
    key = app.api_key()
    started = time.monotonic()
    response = app.get("/health", key)
    elapsed = time.monotonic() - started - app.init_seconds(response)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    if app.shas:
        assert body["version"] in app.shas
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    assert elapsed < HEALTH_BUDGET_S, f"/health took {elapsed:.2f}s beyond any cold start"


@pytest.mark.parametrize("presented", [None, "wrong-key", ""])
def test_bad_key_is_refused_without_leaking_the_key(app: App, presented: str | None) -> None:
    response = app.get("/health", presented)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert app.api_key() not in response.text


def test_canary_passes_against_a_healthy_dashboard(app: App) -> None:
    result = app.invoke("canary", {})
    assert result.ok, result.error
    assert result.payload["ok"] is True
    assert result.payload["status_code"] == 200
    if app.shas:
        assert result.payload["version"] in app.shas


@pytest.fixture
def alerts(app: App) -> Iterator[str]:
    """A queue subscribed to the alerts topic, removed afterwards."""
    sqs, sns = app.client("sqs"), app.client("sns")
    url = sqs.create_queue(QueueName=f"{app.env}-canary-test-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = app.outputs["alerts_topic_arn"]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"Policy": json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
            }],
        })},
    )  # fmt: skip
    subscription = sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"}
    )["SubscriptionArn"]
    yield url
    sns.unsubscribe(SubscriptionArn=subscription)
    sqs.delete_queue(QueueUrl=url)


@pytest.mark.disruptive
def test_canary_alerts_when_the_dashboard_secret_is_rotated_underneath_it(
    app: App, alerts: str
) -> None:
    """The dashboard keeps its cached key while warm; the canary reads the rotated one. It runs
    only where the suites' role may rotate the key (terraform: disruptive_tests)."""
    secrets = app.client("secretsmanager")
    arn = secrets.describe_secret(SecretId=app.key_secret)["ARN"]
    refused = app.may("secretsmanager:PutSecretValue", arn)
    if refused:
        pytest.skip(f"cannot rotate the dashboard key here: {refused}")
    original = app.api_key()
    assert app.get("/health", original).status_code == 200  # the dashboard is warm
    secrets.put_secret_value(SecretId=app.key_secret, SecretString=uuid.uuid4().hex)
    try:
        result = app.invoke("canary", {})
    finally:
        secrets.put_secret_value(SecretId=app.key_secret, SecretString=original)
    assert not result.ok
    assert result.error["errorType"] == "CanaryFailedError"
    deadline = time.monotonic() + 60
    messages: list[dict] = []
    while not messages and time.monotonic() < deadline:
        messages = (
            app.client("sqs")
            .receive_message(QueueUrl=alerts, MaxNumberOfMessages=10, WaitTimeSeconds=5)
            .get("Messages", [])
        )
    assert messages, "no alert reached the queue subscribed to the alerts topic"
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Subject"] == f"[{app.env}] dashboard canary failed"
    alert = json.loads(envelope["Message"])
    assert alert["check"] == "canary" and alert["status_code"] == 401
    assert original not in messages[0]["Body"]
    assert app.get("/health", original).status_code == 200  # restored

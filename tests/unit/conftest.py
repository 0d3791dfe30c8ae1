"""The application's resources in a fresh emulated account, configured as Terraform would."""

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from news_common import items
from news_common.secrets import clear_cache
from pipeline.adapters.fake_newsapi import FakeNewsApi, load_scenarios
from tests.conftest import REPO

pytestmark = pytest.mark.unit


@dataclass
class App:
    table: Any
    topic_arn: str
    topic_queue_url: str
    alerts_arn: str
    alerts_queue_url: str
    newsapi_key: str
    dashboard_key: str

    def published(self, queue_url: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        messages = []
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                messages.append(json.loads(json.loads(message["Body"])["Message"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def all_items(self) -> list[dict[str, Any]]:
        return self.table.scan()["Items"]


def _subscribed_queue(topic_arn: str, name: str) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


@pytest.fixture
def app(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    clear_cache()
    dynamodb = boto3.resource("dynamodb")
    table = dynamodb.create_table(
        TableName="test-items",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": items.ID, "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": items.ID, "AttributeType": "S"},
            {"AttributeName": items.STATUS, "AttributeType": "S"},
            {"AttributeName": items.PUBLISHED_AT, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": items.STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": items.STATUS, "KeyType": "HASH"},
                    {"AttributeName": items.PUBLISHED_AT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="test-analysis")["TopicArn"]
    alerts = sns.create_topic(Name="test-alerts")["TopicArn"]
    newsapi_key, dashboard_key = secrets.token_hex(16), secrets.token_urlsafe(24)
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="test/newsapi", SecretString=newsapi_key)
    sm.create_secret(Name="test/dashboard", SecretString=dashboard_key)
    for name, value in {
        "ITEMS_TABLE": "test-items",
        "ANALYSIS_TOPIC_ARN": topic,
        "ALERTS_TOPIC_ARN": alerts,
        "NEWSAPI_SECRET_NAME": "test/newsapi",
        "DASHBOARD_SECRET_NAME": "test/dashboard",
        "NEWSAPI_PATH": "/v2/top-headlines",
        "NEWSAPI_QUERY": '{"country": "us", "pageSize": "100"}',
        "NEWSAPI_BACKOFF_SECONDS": "0",
        "APP_VERSION": "0123abc",
        "ENVIRONMENT": "test",
    }.items():
        monkeypatch.setenv(name, value)
    yield App(
        table,
        topic,
        _subscribed_queue(topic, "test-analysis-tap"),
        alerts,
        _subscribed_queue(alerts, "test-alerts-tap"),
        newsapi_key,
        dashboard_key,
    )
    clear_cache()


@pytest.fixture
def newsapi(app: App, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNewsApi]:
    fake = FakeNewsApi(load_scenarios(REPO / "fixtures" / "newsapi"), app.newsapi_key).start()
    monkeypatch.setenv("NEWSAPI_BASE_URL", fake.base_url)
    yield fake
    fake.stop()

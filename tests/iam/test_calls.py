"""Recorded requests become the IAM requests AWS would authorize: real SDK calls against moto,
recorded by moto, parsed with botocore's models and placed by pipeline.access.actions."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from pipeline.access import proof, recording
from pipeline.access.actions import Lookup, Request, Unplaced, requests_for
from pipeline.access.policies import WEB_IDENTITY, Applied, Role
from pipeline.adapters import emulator

pytestmark = pytest.mark.iam
ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:preprod-newsapi-key-AbCdEf"
TABLE = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table"
FUNCTION = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function"
DASHBOARDS = f"arn:aws:cloudwatch::{ACCOUNT}:dashboard"  # global: no region
TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT}:preprod-alerts"
SIGNED = "AWS4-HMAC-SHA256 Credential=AKIATESTCALLS/20261202/eu-west-1/{}/aws4_request"


@pytest.fixture
def recorded(moto_server: emulator.Emulator) -> Iterator[Any]:
    """A function that makes one SDK call and returns what the emulator recorded of it."""
    moto_server.reset()
    keys = {"aws_access_key_id": "AKIATESTCALLS", "aws_secret_access_key": "x"}

    def client(service: str) -> Any:
        return boto3.client(
            service, region_name="eu-west-1", endpoint_url=moto_server.endpoint, **keys
        )

    def record(service: str, operation: str, **params: Any) -> list[recording.Call]:
        recording.start(moto_server.endpoint)
        try:
            getattr(client(service), operation)(**params)
        except ClientError:
            pass  # a refused call is recorded all the same
        finally:
            entries = recording.stop(moto_server.endpoint)
        return [recording.parse(entry) for entry in entries]

    record.client = client  # type: ignore[attr-defined]
    yield record


LOOKUP = Lookup(
    ACCOUNT,
    secrets={"preprod-newsapi-key": SECRET},
    hash_keys={"newsflow-tflock": "LockID", "preprod-pipeline-ledger": "pk"},
)  # fmt: skip
CASES = [
    ("s3", "head_bucket", {"Bucket": "newsflow-tfstate"},
     Request("s3:ListBucket", "arn:aws:s3:::newsflow-tfstate"), {}),
    ("s3", "list_objects_v2", {"Bucket": "newsflow-tfstate", "Prefix": "preprod/"},
     Request("s3:ListBucket", "arn:aws:s3:::newsflow-tfstate"), {"s3:prefix": "preprod/"}),
    ("s3", "head_object", {"Bucket": "b-one", "Key": "sha/ingestion.zip"},
     Request("s3:GetObject", "arn:aws:s3:::b-one/sha/ingestion.zip"), {}),
    ("s3", "put_object", {"Bucket": "b-one", "Key": "a/b c.zip", "Body": b"x"},
     Request("s3:PutObject", "arn:aws:s3:::b-one/a/b c.zip"), {}),
    ("s3", "get_bucket_encryption", {"Bucket": "b-one"},
     Request("s3:GetEncryptionConfiguration", "arn:aws:s3:::b-one"), {}),
    ("dynamodb", "get_item",
     {"TableName": "newsflow-tflock", "Key": {"LockID": {"S": "newsflow-tfstate/preprod/x"}}},
     Request("dynamodb:GetItem", f"{TABLE}/newsflow-tflock"),
     {"dynamodb:LeadingKeys": ["newsflow-tfstate/preprod/x"]}),
    ("dynamodb", "query",
     {"TableName": "preprod-pipeline-ledger", "KeyConditionExpression": "pk = :pk",
      "ExpressionAttributeValues": {":pk": {"S": "validated"}}},
     Request("dynamodb:Query", f"{TABLE}/preprod-pipeline-ledger"),
     {"dynamodb:LeadingKeys": ["validated"]}),
    ("lambda", "get_function_configuration", {"FunctionName": "preprod-canary", "Qualifier": "3"},
     Request("lambda:GetFunctionConfiguration", f"{FUNCTION}:preprod-canary:3"), {}),
    ("lambda", "invoke", {"FunctionName": "preprod-canary:live"},
     Request("lambda:InvokeFunction", f"{FUNCTION}:preprod-canary:live"), {}),
    ("sqs", "send_message",
     {"QueueUrl": f"http://127.0.0.1/{ACCOUNT}/preprod-analysis", "MessageBody": "{}"},
     Request("sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:preprod-analysis"), {}),
    ("secretsmanager", "get_secret_value", {"SecretId": "preprod-newsapi-key"},
     Request("secretsmanager:GetSecretValue", LOOKUP.secrets["preprod-newsapi-key"]), {}),
    ("cloudwatch", "set_alarm_state",
     {"AlarmName": "preprod-x", "StateValue": "OK", "StateReason": "r"},
     Request("cloudwatch:SetAlarmState", f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:preprod-x"),
     {}),
    ("cloudwatch", "put_dashboard", {"DashboardName": "preprod-newsflow", "DashboardBody": "{}"},
     Request("cloudwatch:PutDashboard", f"{DASHBOARDS}/preprod-newsflow"), {}),
    ("sns", "publish", {"TopicArn": TOPIC, "Message": "m"}, Request("sns:Publish", TOPIC), {}),
    ("s3", "copy_object", {"Bucket": "b-two", "Key": "k", "CopySource": "b-one/sha/x.zip"},
     Request("s3:PutObject", "arn:aws:s3:::b-two/k"), {}),
    ("iam", "get_role", {"RoleName": "preprod-deployer"},
     Request("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/preprod-deployer"), {}),
]  # fmt: skip


@pytest.mark.parametrize(("service", "operation", "params", "expected", "context"), CASES,
                         ids=[f"{c[0]}.{c[1]}" for c in CASES])  # fmt: skip
def test_a_recorded_call_is_the_iam_request_aws_authorizes(
    recorded: Any, service: str, operation: str, params: dict, expected: Request, context: dict
) -> None:
    [call] = recorded(service, operation, **params)
    assert call.access_key == "AKIATESTCALLS" and call.region == "eu-west-1"
    request = requests_for(call, LOOKUP)[0]
    assert request == expected
    assert request.context == context


def test_the_unsigned_web_identity_sign_in_is_told_apart(recorded: Any) -> None:
    [call] = recorded(
        "sts", "assume_role_with_web_identity",
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/preprod-deployer", RoleSessionName="ci",
        WebIdentityToken="token-token",
    )  # fmt: skip
    assert (call.access_key, call.operation) == ("", "AssumeRoleWithWebIdentity")
    assert Applied(LOOKUP).principal(call.access_key) == (WEB_IDENTITY, None)


def test_a_service_the_proof_cannot_place_is_reported_not_allowed(recorded: Any) -> None:
    calls = recorded("ec2", "describe_instances")
    assert calls and all(call.service == "ec2" for call in calls)
    with pytest.raises(Unplaced):
        requests_for(calls[0], LOOKUP)
    role = Role(f"arn:aws:iam::{ACCOUNT}:role/preprod-deployer", (), {})
    applied = Applied(LOOKUP, roles={role.arn: role}, keys={"AKIATESTCALLS": ("s", role.arn)})
    entry = {
        "method": "POST", "url": "http://127.0.0.1/", "body_encoded": False,
        "headers": {"Authorization": SIGNED.format("ec2")}, "body": "Action=DescribeInstances",
    }  # fmt: skip
    report = proof.evaluate([entry], applied, proof_tools())
    assert not report.ok and report.unplaced


def test_a_key_no_session_was_recorded_for_is_an_unknown_principal(recorded: Any) -> None:
    [call] = recorded("sqs", "list_queues")
    applied = Applied(LOOKUP)
    who, role = applied.principal(call.access_key)
    assert who.startswith("unknown access key") and role is None


def test_two_recorder_entries_on_one_line_are_both_read() -> None:
    text = '{"method": "GET", "url": "a"}{"method": "PUT", "url": "b"}\n\n{"method": "HEAD"}\n'
    assert [e["method"] for e in recording.entries(text)] == ["GET", "PUT", "HEAD"]


def proof_tools() -> Any:
    from pipeline.state import project
    from tests.conftest import REPO

    return project.state_dir(REPO) / "tools"


def test_a_copy_is_a_read_of_its_source_and_a_write_of_its_destination(recorded: Any) -> None:
    [call] = recorded("s3", "copy_object", Bucket="b-two", Key="k", CopySource="b-one/sha/x.zip")
    assert requests_for(call, LOOKUP) == [
        Request("s3:PutObject", "arn:aws:s3:::b-two/k"),
        Request("s3:GetObject", "arn:aws:s3:::b-one/sha/x.zip"),
    ]

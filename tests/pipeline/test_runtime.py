"""The emulated Lambda runtime on its own: sandboxing, errors, timeouts, warmth and routing."""

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pipeline.adapters import emulator
from pipeline.adapters.target import Target
from pipeline.errors import StageFailedError
from pipeline.runtime import alarms, function_url, queues
from pipeline.runtime.functions import Runtime
from pipeline.state.ledger import Ledger

pytestmark = pytest.mark.pipeline
ROLE = "arn:aws:iam::123456789012:role/runtime-test"
BUCKET = "runtime-test-packages"

PROBE = """
import os, sys
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("asked to fail")
    found = {}
    for name in ("requests", "pipeline", "moto", "boto3"):
        try:
            __import__(name)
            found[name] = True
        except ImportError:
            found[name] = False
    return {"count": COUNT, "imports": found, "greeting": os.environ.get("GREETING"),
            "remaining_ms": context.get_remaining_time_in_millis(), "pid": os.getpid(),
            "site": [p for p in sys.path if "site-packages" in p]}
"""

# For the timeout tests: PROBE imports boto3 and more on every call, which under load alone can
# take longer than a 1-second timeout.
COUNTER = """
import time
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    time.sleep(event.get("sleep", 0))
    return {"count": COUNT}
"""


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def target(moto_server: emulator.Emulator) -> Target:
    moto_server.reset()
    moto_server.configure()
    tgt = Target("emulated", "eu-west-1", moto_server.endpoint)
    tgt.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    tgt.client("iam").create_role(
        RoleName="runtime-test", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )
    Ledger(tgt, "test").ensure()
    return tgt


def deploy(tgt: Target, name: str, files: dict[str, str], timeout: int = 3, **env: str) -> str:
    """Upload the zip, record it in the ledger, create or update the function; returns the
    published version."""
    body = zipped(files)
    digest = hashlib.sha256(body).hexdigest()
    key = f"{digest[:12]}/{name}.zip"
    tgt.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    Ledger(tgt, "test").record_artifact(digest[:12], BUCKET, {name: {"key": key, "sha256": digest}})
    lam = tgt.client("lambda")
    existing = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    if name in existing:
        lam.update_function_code(FunctionName=name, S3Bucket=BUCKET, S3Key=key)
        return lam.publish_version(FunctionName=name)["Version"]
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="probe.handler",
        Code={"S3Bucket": BUCKET, "S3Key": key},
        Timeout=timeout,
        Environment={"Variables": env},
        Publish=True,
    )
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=created["Version"])
    return created["Version"]


@pytest.fixture
def runtime(target: Target, tmp_path: Path) -> Iterator[Runtime]:
    with Runtime(
        target, "test", tmp_path, hosts={"https://news.example": "http://127.0.0.1:9"}
    ) as rt:
        yield rt


def test_only_the_artifact_the_stdlib_and_boto3_are_importable(
    target: Target, runtime: Runtime
) -> None:
    deploy(target, "probe", {"probe.py": PROBE}, GREETING="https://news.example/v2")
    result = runtime.invoke("probe", {})
    assert result.ok, result.describe_error()
    assert result.payload["imports"] == {
        "requests": False, "pipeline": False, "moto": False, "boto3": True
    }  # fmt: skip
    assert result.payload["site"] == []
    assert result.payload["greeting"] == "http://127.0.0.1:9/v2"  # hosts are mapped
    assert 0 < result.payload["remaining_ms"] <= 3000


def test_a_missing_dependency_fails_like_aws(target: Target, runtime: Runtime) -> None:
    deploy(target, "needs-requests", {"probe.py": "import requests\ndef handler(e, c): pass\n"})
    result = runtime.invoke("needs-requests", {})
    assert not result.ok
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'requests'" in result.error["errorMessage"]


def test_sandboxes_stay_warm_and_errors_are_reported(target: Target, runtime: Runtime) -> None:
    deploy(target, "probe", {"probe.py": PROBE})
    first, second = runtime.invoke("probe", {}), runtime.invoke("probe", {})
    assert (first.payload["count"], second.payload["count"]) == (1, 2)
    assert first.payload["pid"] == second.payload["pid"]
    failed = runtime.invoke("probe", {"fail": True})
    assert failed.error["errorType"] == "ValueError"
    assert failed.error["errorMessage"] == "asked to fail"
    assert any("START RequestId" in line for line in failed.log_tail)
    assert runtime.invoke("probe", {}).payload["count"] == 4  # an error keeps the sandbox


def test_the_timeout_is_enforced_and_the_sandbox_replaced(target: Target, runtime: Runtime) -> None:
    deploy(target, "probe", {"probe.py": COUNTER}, timeout=1)
    slow = runtime.invoke("probe", {"sleep": 5})
    assert slow.error["errorType"] == "Sandbox.Timedout"
    assert "timed out after 1.00 seconds" in slow.error["errorMessage"]
    assert slow.seconds < 3
    assert runtime.invoke("probe", {}).payload["count"] == 1  # a new, cold sandbox


def test_init_has_its_own_limit_outside_the_function_timeout(
    target: Target, runtime: Runtime
) -> None:
    """A 1.5 s module import under a 1 s function timeout: Lambda's init phase is not part of
    the invocation's timeout, so the first invocation still succeeds."""
    slow_import = "import time\ntime.sleep(1.5)\n" + COUNTER
    deploy(target, "slowinit", {"probe.py": slow_import}, timeout=1)
    first = runtime.invoke("slowinit", {})
    assert first.error is None and first.payload["count"] == 1


def test_alias_routing_honours_weights_and_versions(target: Target, runtime: Runtime) -> None:
    v1 = deploy(target, "probe", {"probe.py": PROBE})
    v2 = deploy(target, "probe", {"probe.py": PROBE.replace("COUNT = 0", "COUNT = 100")})
    lam = target.client("lambda")
    lam.update_alias(
        FunctionName="probe", Name="live", FunctionVersion=v1,
        RoutingConfig={"AdditionalVersionWeights": {v2: 0.5}},
    )  # fmt: skip
    versions = {runtime.invoke("probe", {}).version for _ in range(40)}
    assert versions == {v1, v2}
    assert runtime.invoke("probe", {}, qualifier=v2).payload["count"] > 100


def test_code_not_in_the_ledger_is_refused(target: Target, runtime: Runtime) -> None:
    lam = target.client("lambda")
    lam.create_function(
        FunctionName="stranger", Runtime="python3.12", Role=ROLE, Handler="probe.handler",
        Code={"ZipFile": zipped({"probe.py": PROBE})}, Publish=True,
    )  # fmt: skip
    with pytest.raises(StageFailedError, match="no artifact in the test ledger"):
        runtime.invoke("stranger", {}, qualifier="1")


def test_queue_mapping_deletes_successes_and_keeps_reported_failures(
    target: Target, runtime: Runtime
) -> None:
    handler = (
        "def handler(event, context):\n"
        "    return {'batchItemFailures': [{'itemIdentifier': r['messageId']}\n"
        "            for r in event['Records'] if r['body'] == 'bad']}\n"
    )
    deploy(target, "consumer", {"probe.py": handler})
    sqs = target.client("sqs")
    dlq = sqs.create_queue(QueueName="consumer-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    queue = sqs.create_queue(
        QueueName="consumer",
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": 2}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    target.client("lambda").create_event_source_mapping(
        EventSourceArn=arn["QueueArn"], FunctionName="consumer:live", BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"], Enabled=False,
    )  # fmt: skip
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    [mapping] = queues.mappings(runtime, "consumer")
    report = queues.drain(runtime, mapping, timeout=30)
    assert report.deleted == 2
    assert report.delivered >= 4  # the bad message was delivered again after its visibility
    moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert {m["Body"] for m in moved} == {"bad"}


def test_function_url_translates_http_to_payload_2_and_back(
    target: Target, runtime: Runtime
) -> None:
    handler = (
        "import json\n"
        "def handler(event, context):\n"
        "    return {'statusCode': 418, 'headers': {'x-seen': event['rawPath']},\n"
        "            'body': json.dumps({'query': event.get('queryStringParameters'),\n"
        "                                'method': event['requestContext']['http']['method'],\n"
        "                                'version': event['version'],\n"
        "                                'key': event['headers'].get('x-api-key')})}\n"
    )
    deploy(target, "web", {"probe.py": handler})
    with function_url.FunctionUrl(runtime, "web") as url:
        response = requests.get(
            url.url + "items", params={"limit": "5"}, headers={"X-API-Key": "k"}, timeout=10
        )
    assert response.status_code == 418
    assert response.headers["x-seen"] == "/items"
    assert response.json() == {
        "query": {"limit": "5"},
        "method": "GET",
        "version": "2.0",
        "key": "k",
    }


def test_alarm_evaluation_follows_the_alarm_rule(target: Target, runtime: Runtime) -> None:
    deploy(target, "probe", {"probe.py": PROBE})
    cloudwatch = target.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="test-probe-errors", Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "probe"}], Statistic="Sum", Period=300,
        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )  # fmt: skip
    runtime.invoke("probe", {})
    assert alarms.evaluate(target, "test-") == {"test-probe-errors": "OK"}
    runtime.invoke("probe", {"fail": True})
    assert alarms.evaluate(target, "test-") == {"test-probe-errors": "ALARM"}
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["test-probe-errors"])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"

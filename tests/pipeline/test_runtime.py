"""The emulated Lambda runtime on its own: sandboxing, errors, timeouts, warmth and routing."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from pipeline.adapters import emulator
from pipeline.adapters.target import Target
from pipeline.errors import StageFailedError
from pipeline.runtime import alarms, function_url, queues
from pipeline.runtime.functions import Runtime, log_directory
from pipeline.runtime.sandbox import find_report
from tests.functions import ENV, ROLE, account, deploy, zipped
from tests.http_server import webhook

pytestmark = pytest.mark.pipeline

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


@pytest.fixture
def target(moto_server: emulator.Emulator) -> Target:
    return account(moto_server)


@pytest.fixture
def runtime(target: Target, tmp_path: Path) -> Iterator[Runtime]:
    with Runtime(target, ENV, tmp_path, hosts={"https://news.example": "http://127.0.0.1:9"}) as rt:
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
    target: Target, runtime: Runtime, tmp_path: Path
) -> None:
    """A 1.5 s module import under a 1 s function timeout: Lambda's init phase is not part of
    the invocation's timeout, so the first invocation still succeeds."""
    slow_import = "import time\ntime.sleep(1.5)\n" + COUNTER
    deploy(target, "slowinit", {"probe.py": slow_import}, timeout=1)
    first = runtime.invoke("slowinit", {})
    assert first.error is None and first.payload["count"] == 1
    # As Lambda reports them: the init phase apart, and the Duration without it.
    assert first.init_seconds >= 1.5 and first.seconds < 1.0
    second = runtime.invoke("slowinit", {})
    assert second.init_seconds == 0.0
    logs = log_directory(tmp_path, ENV)
    cold, warm = find_report(logs, first.request_id), find_report(logs, second.request_id)
    assert cold is not None and cold.init_ms >= 1500 and cold.duration_ms < 1000
    assert warm is not None and warm.init_ms == 0.0


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
            # Longer than the drain may take: the emulated clock skips the timeout.
            "VisibilityTimeout": "120",
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
    assert report.delivered == 4  # the bad message twice, then the redrive's receive moved it
    moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert {m["Body"] for m in moved} == {"bad"}


def test_function_url_translates_http_to_payload_2_and_back(
    target: Target, runtime: Runtime, tmp_path: Path
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
    # The request id is the invocation's: its REPORT line is found by it.
    assert find_report(log_directory(tmp_path, ENV), response.headers["x-amzn-requestid"])
    assert response.json() == {
        "query": {"limit": "5"},
        "method": "GET",
        "version": "2.0",
        "key": "k",
    }


def test_alarm_evaluation_follows_the_alarm_rule_and_notifies_its_actions(
    target: Target, runtime: Runtime
) -> None:
    deploy(target, "probe", {"probe.py": PROBE})
    cloudwatch, sns = target.client("cloudwatch"), target.client("sns")
    topic = sns.create_topic(Name="test-alarm-actions")["TopicArn"]
    with webhook() as hook:
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook.url)
        cloudwatch.put_metric_alarm(
            AlarmName="test-probe-errors", Namespace="AWS/Lambda", MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": "probe"}], Statistic="Sum", Period=300,
            EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching", AlarmActions=[topic], OKActions=[topic],
        )  # fmt: skip
        runtime.invoke("probe", {})
        assert alarms.evaluate(target, "test-") == {"test-probe-errors": "OK"}
        assert alarms.evaluate(target, "test-") == {"test-probe-errors": "OK"}  # no change
        runtime.invoke("probe", {"fail": True})
        assert alarms.evaluate(target, "test-") == {"test-probe-errors": "ALARM"}
        [alarm] = cloudwatch.describe_alarms(AlarmNames=["test-probe-errors"])["MetricAlarms"]
        assert alarm["StateValue"] == "ALARM"
        later = datetime.now(UTC) + timedelta(seconds=30)  # the 5-minute period is 5 s here
        assert alarms.evaluate(target, "test-", now=later) == {"test-probe-errors": "OK"}
        # Each change of state reached the subscribed endpoint once, as CloudWatch's message.
        delivered = hook.wait_for(3, timeout=5)
    assert [json.loads(b["Message"])["NewStateValue"] for b in delivered] == ["ALARM", "OK"]
    change = json.loads(delivered[0]["Message"])
    assert (change["AlarmName"], change["OldStateValue"]) == ("test-probe-errors", "OK")
    assert change["Trigger"]["MetricName"] == "Errors"
    assert delivered[0]["Subject"].startswith('ALARM: "test-probe-errors"')
    # With its subscriber gone, the alarm still changes state: a failed delivery is not an
    # evaluation's failure.
    runtime.invoke("probe", {"fail": True})
    assert alarms.evaluate(target, "test-") == {"test-probe-errors": "ALARM"}

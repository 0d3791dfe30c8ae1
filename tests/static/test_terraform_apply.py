"""Real `terraform apply` of both environments against a moto server, then a no-change plan,
an inventory of what was planned, and the deployer roles' isolation."""

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from pipeline.adapters import emulator
from pipeline.adapters.terraform import plan_diff
from pipeline.promotion.first import PLAN_FILE, Promotion
from pipeline.runtime.alarms import evaluate
from pipeline.state.stage_log import StageLog
from tests.conftest import REPO
from tests.environments import deploy_all, emulated

pytestmark = pytest.mark.static
ENVS = ["preprod", "prod"]
EXPECTED_TYPES = {
    "aws_lambda_function": 4,
    "aws_lambda_alias": 4,
    "aws_cloudwatch_log_group": 4,
    "aws_iam_role": 5,
    "aws_iam_role_policy": 5,
    "aws_cloudwatch_metric_alarm": 16,
    "aws_cloudwatch_dashboard": 1,
    "aws_sns_topic_policy": 1,
    "aws_dynamodb_table": 1,
    "aws_sns_topic": 2,
    "aws_sns_topic_subscription": 2,
    "aws_sqs_queue": 2,
    "aws_s3_bucket": 1,
    "aws_s3_bucket_versioning": 1,
    "aws_s3_bucket_server_side_encryption_configuration": 1,
    "aws_s3_bucket_public_access_block": 1,
    "aws_s3_bucket_lifecycle_configuration": 1,
    "aws_s3_bucket_policy": 1,
    "aws_lambda_event_source_mapping": 1,
    "aws_lambda_function_url": 1,
    "aws_cloudwatch_event_rule": 2,
    "aws_cloudwatch_event_target": 2,
    "aws_lambda_permission": 3,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulator.Emulator]:
    running = emulator.start(tmp_path_factory.mktemp("tf-moto") / "moto.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def deployed(
    server: emulator.Emulator, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Promotion]:
    return deploy_all(REPO, tmp_path_factory.mktemp("tf-state"), ENVS, emulated(server))


@pytest.fixture(scope="module")
def plans(deployed: dict[str, Promotion]) -> dict[str, tuple[bool, dict]]:
    """A second plan per environment: (has changes, plan JSON)."""
    result = {}
    for env, run in deployed.items():
        assert run.workspace is not None
        log = StageLog()
        changed = run.workspace.plan(log, run.tf_vars(), out=PLAN_FILE)
        result[env] = (changed, run.workspace.show_plan(log, PLAN_FILE))
    return result


def _resources(plan: dict) -> list[dict]:
    def walk(module: dict) -> Iterator[dict]:
        yield from module.get("resources", [])
        for child in module.get("child_modules", []):
            yield from walk(child)

    return [r for r in walk(plan["planned_values"]["root_module"]) if r["mode"] == "managed"]


@pytest.mark.parametrize("env", ENVS)
def test_second_plan_has_no_changes_but_known_emulator_diffs(
    env: str, plans: dict[str, tuple[bool, dict]]
) -> None:
    changed, plan = plans[env]
    assert plan_diff.unexplained(plan, emulated=True) == []
    explained = [c for c in plan_diff.changes(plan) if c.emulator_reason()]
    # Exactly the listed emulator difference, and only while moto reports it.
    assert changed == bool(explained)
    assert {c.type for c in explained} <= {t for t, _ in plan_diff.EMULATOR_DIFFS}


@pytest.mark.parametrize("env", ENVS)
def test_inventory(env: str, plans: dict[str, tuple[bool, dict]]) -> None:
    resources = _resources(plans[env][1])
    assert Counter(r["type"] for r in resources) == Counter(EXPECTED_TYPES)
    by_type: dict[str, list[dict]] = {}
    for r in resources:
        by_type.setdefault(r["type"], []).append(r["values"])
    names = [v.get("function_name") for v in by_type["aws_lambda_function"]]
    assert sorted(names) == [
        f"{env}-{fn}" for fn in ("analysis", "canary", "dashboard", "ingestion")
    ]
    assert all(v["publish"] for v in by_type["aws_lambda_function"])
    assert all(v["name"] == "live" for v in by_type["aws_lambda_alias"])
    [mapping] = by_type["aws_lambda_event_source_mapping"]
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["function_name"].endswith(f":function:{env}-analysis:live")
    assert [u["qualifier"] for u in by_type["aws_lambda_function_url"]] == ["live"]
    assert all(t["arn"].endswith(":live") for t in by_type["aws_cloudwatch_event_target"])
    assert all(p["qualifier"] == "live" for p in by_type["aws_lambda_permission"])
    alarms = by_type["aws_cloudwatch_metric_alarm"]
    assert all(a["alarm_name"].startswith(f"{env}-") for a in alarms)
    assert all(len(a["alarm_actions"] or []) == 1 for a in alarms)
    for value in by_type["aws_sqs_queue"] + by_type["aws_sns_topic"]:
        assert value["name"].startswith(f"{env}-")
    [table] = by_type["aws_dynamodb_table"]
    assert table["point_in_time_recovery"][0]["enabled"] is (env == "prod")
    assert [g["name"] for g in table["global_secondary_index"]] == ["by-status-published"]
    # Alerts reach a person: CloudWatch and Budgets may publish (no AWS managed key in the way),
    # and someone is subscribed. (moto cannot hold the budget; the tfvars test checks it is on.)
    alerts = next(t for t in by_type["aws_sns_topic"] if t["name"] == f"{env}-alerts")
    assert not alerts["kms_master_key_id"]
    [topic_policy] = by_type["aws_sns_topic_policy"]
    [grant] = json.loads(topic_policy["policy"])["Statement"]
    assert sorted(grant["Principal"]["Service"]) == ["budgets.amazonaws.com",
                                                     "cloudwatch.amazonaws.com"]  # fmt: skip
    assert (
        grant["Action"] == "sns:Publish"
        and "aws:SourceAccount" in grant["Condition"]["StringEquals"]
    )
    [email] = [v for v in by_type["aws_sns_topic_subscription"] if v["protocol"] == "email"]
    assert email["endpoint"].endswith("@example.com")
    # The ingestion alarms judge its schedule's period, not a fixed five minutes.
    period = {"preprod": 7200, "prod": 900}[env]
    by_name = {a["alarm_name"].removeprefix(f"{env}-"): a for a in alarms}
    assert (by_name["ingestion-stale"]["period"], by_name["ingestion-failing"]["period"]) == (
        period, period)  # fmt: skip
    assert by_name["ingestion-stale"]["treat_missing_data"] == "breaching"
    # Those the traffic watch skips: they page, but a release cannot trip them.
    paging_only = plans[env][1]["planned_values"]["outputs"]["paging_only_alarm_names"]["value"]
    assert sorted(paging_only) == [f"{env}-{name}" for name in (
        "alerts-delivery-failed", "dynamodb-user-errors", "ingestion-stale")]  # fmt: skip
    # The dashboard shows every alarm of the environment.
    [dashboard] = by_type["aws_cloudwatch_dashboard"]
    widgets = json.loads(dashboard["dashboard_body"])["widgets"]
    assert sorted(widgets[0]["properties"]["alarms"]) == sorted(a["arn"] for a in alarms)


def test_environments_have_identical_resource_sets(plans: dict[str, tuple[bool, dict]]) -> None:
    addresses = {env: sorted(r["address"] for r in _resources(plans[env][1])) for env in ENVS}
    assert addresses["preprod"] == addresses["prod"]
    rules = {
        env: {
            r["values"]["name"].removeprefix(f"{env}-"): r["values"]["schedule_expression"]
            for r in _resources(plans[env][1])
            if r["type"] == "aws_cloudwatch_event_rule"
        }
        for env in ENVS
    }
    assert rules["preprod"] == {
        "ingestion-schedule": "rate(2 hours)",
        "canary-schedule": "rate(1 hour)",
    }
    assert rules["prod"] == {
        "ingestion-schedule": "rate(15 minutes)",
        "canary-schedule": "rate(1 hour)",
    }


def test_preprod_deployer_is_isolated_from_prod(
    deployed: dict[str, Promotion], server: emulator.Emulator
) -> None:
    """moto enforces IAM only for S3 and SQS, so isolation is shown there. The preprod
    deployer's policy, read from the applied role, is attached to a user; with moto's
    authentication on (reset-auth takes the number of unauthenticated calls still allowed: 0
    enforces, inf stops enforcing), that user may write preprod's bucket and queue and is denied
    prod's. moto enforces no other service, and the OIDC trust policy cannot be exercised here."""
    iam = deployed["preprod"].tgt.client("iam")
    policy = iam.get_role_policy(RoleName="preprod-deployer", PolicyName="preprod-deployer")
    iam.create_user(UserName="preprod-deployer-probe")
    iam.put_user_policy(
        UserName="preprod-deployer-probe",
        PolicyName="deployer",
        PolicyDocument=json.dumps(policy["PolicyDocument"]),
    )
    key = iam.create_access_key(UserName="preprod-deployer-probe")["AccessKey"]
    session = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name="eu-west-1",
    )
    s3 = session.client("s3", endpoint_url=server.endpoint)
    sqs = session.client("sqs", endpoint_url=server.endpoint)
    outputs = {env: run.outputs for env, run in deployed.items()}
    requests.post(f"{server.endpoint}/moto-api/reset-auth", data=b"0", timeout=10)
    try:

        def denied(call, **kwargs) -> bool:
            try:
                call(**kwargs)
            except ClientError as exc:
                return exc.response["Error"]["Code"] in {"AccessDenied", "403"}
            return False

        assert not denied(
            s3.put_object, Bucket=outputs["preprod"]["package_bucket"], Key="probe", Body=b"x"
        )
        assert denied(
            s3.put_object, Bucket=outputs["prod"]["package_bucket"], Key="probe", Body=b"x"
        )
        assert denied(s3.get_object, Bucket=outputs["prod"]["package_bucket"], Key="probe")
        assert not denied(
            sqs.send_message, QueueUrl=outputs["preprod"]["analysis_queue_url"], MessageBody="{}"
        )
        assert denied(
            sqs.send_message, QueueUrl=outputs["prod"]["analysis_queue_url"], MessageBody="{}"
        )
    finally:
        requests.post(f"{server.endpoint}/moto-api/reset-auth", data=b"inf", timeout=10)


def test_the_ingestion_alarms_judge_two_schedule_periods(
    deployed: dict[str, Promotion],
) -> None:
    """The applied alarms, evaluated as the emulated CloudWatch does (prod's 15-minute schedule
    is 15 s there): no run for two periods pages, one missed period does not; errors in both
    periods page, errors in one do not."""
    target = deployed["prod"].tgt
    cloudwatch = target.client("cloudwatch")
    start = datetime.now(UTC)

    def put(metric: str, value: float, at: datetime) -> None:
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[{
            "MetricName": metric, "Value": value, "Timestamp": at, "Unit": "Count",
            "Dimensions": [{"Name": "FunctionName", "Value": "prod-ingestion"}],
        }])  # fmt: skip

    def states(at: datetime) -> dict[str, str]:
        found = evaluate(target, "prod-ingestion-", now=at)
        return {k.removeprefix("prod-ingestion-"): v for k, v in found.items()}

    put("Invocations", 1, start)
    put("Errors", 1, start)
    assert states(start + timedelta(seconds=20)) == {
        "stale": "OK", "failing": "OK", "errors": "OK", "throttles": "OK"}  # fmt: skip
    assert states(start + timedelta(seconds=40))["stale"] == "ALARM"
    put("Invocations", 1, start + timedelta(seconds=15))
    put("Errors", 1, start + timedelta(seconds=15))
    assert states(start + timedelta(seconds=25))["failing"] == "ALARM"

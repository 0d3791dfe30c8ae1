"""The deployed application the integration and canary suites test, described by variables so
the same suites run against an emulated environment and against real AWS.

NEWSFLOW_ENV                   environment name (preprod, prod)
NEWSFLOW_REGION                AWS region
NEWSFLOW_OUTPUTS               path to the environment's `terraform output -json` values
NEWSFLOW_DASHBOARD_URL         the dashboard's URL (the Function URL, or the local shim)
NEWSFLOW_DASHBOARD_KEY_SECRET  Secrets Manager name of the dashboard key (read, never printed)
NEWSFLOW_SHA                   the shas /health may report, comma-separated (optional; two while
                               traffic is split between versions)
NEWSFLOW_AWS_ENDPOINT          emulated only: the emulator endpoint (absent for real AWS)
NEWSFLOW_NEWSAPI_URL           emulated only: the fake NewsAPI the functions reach
NEWSFLOW_STATE_DIR             emulated only: the pipeline state (runtime code cache)

Against AWS, "run now" is a Lambda Invoke and draining waits for AWS's own event source mapping;
in the emulator both go through the pipeline's emulated runtime."""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

# Beyond a redrive's own duration: the mapping's polling and the last batch's invocation.
REDRIVE_SLACK = 60.0


class NotConfigured(RuntimeError):
    """A NEWSFLOW_* variable the suites need is missing."""


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise NotConfigured(
            f"{name} is not set: the integration and canary suites test a deployed environment; "
            "run them with `./pipeline promote --env preprod` (its verify stage) or set the "
            "NEWSFLOW_* variables described in tests/verify/deployed.py"
        )
    return value


@dataclass
class Result:
    """An invocation's payload or error, the same shape for AWS and the emulated runtime."""

    payload: Any
    error: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class App:
    env: str
    region: str
    outputs: dict[str, Any]
    dashboard_url: str
    key_secret: str
    shas: list[str]
    endpoint: str | None
    newsapi_url: str | None
    state_dir: Path | None
    _runtime: Any = field(default=None, repr=False)

    @classmethod
    def from_environment(cls) -> "App":
        endpoint = os.environ.get("NEWSFLOW_AWS_ENDPOINT") or None
        return cls(
            env=_required("NEWSFLOW_ENV"),
            region=_required("NEWSFLOW_REGION"),
            outputs=json.loads(Path(_required("NEWSFLOW_OUTPUTS")).read_text()),
            dashboard_url=_required("NEWSFLOW_DASHBOARD_URL"),
            key_secret=_required("NEWSFLOW_DASHBOARD_KEY_SECRET"),
            shas=[sha for sha in os.environ.get("NEWSFLOW_SHA", "").split(",") if sha],
            endpoint=endpoint,
            newsapi_url=os.environ.get("NEWSFLOW_NEWSAPI_URL") or None,
            state_dir=Path(_required("NEWSFLOW_STATE_DIR")) if endpoint else None,
        )

    @property
    def emulated(self) -> bool:
        return self.endpoint is not None

    def client(self, service: str) -> Any:
        # Credentials come from the environment: the suites act as the pipeline's deployer role.
        if self.emulated:
            return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint)
        return boto3.client(service, region_name=self.region)

    def may(self, action: str, resource: str) -> str | None:
        """None when the suites' own role may make this call, by the policies applied to it;
        otherwise why not. Evaluated offline with the access proof's simulator: IAM's own
        simulator is an API the deployer role is not granted."""
        from pipeline.access import policies, proof
        from pipeline.access.actions import Request
        from pipeline.state import project

        caller = self.client("sts").get_caller_identity()
        if ":assumed-role/" not in caller["Arn"]:
            return f"the suites run as {caller['Arn']}, not a role session whose policies are known"
        iam = self.client("iam")
        role = iam.get_role(RoleName=caller["Arn"].split("/")[1])["Role"]
        request = Request(action, resource)
        tools = project.state_dir(project.root()) / "tools"
        sim = proof.simulation(
            caller["Arn"], policies.read_role(iam, role), request, caller["Account"], None
        )
        [verdict] = proof.simulate([sim], tools)
        return (
            None
            if verdict is None
            else f"{caller['Arn']} may not {action} on {resource}: {verdict}"
        )

    def function(self, short: str) -> str:
        return self.outputs["function_names"][short]

    def api_key(self) -> str:
        return self.client("secretsmanager").get_secret_value(SecretId=self.key_secret)[
            "SecretString"
        ]

    def init_seconds(self, response: requests.Response) -> float:
        """How long the request waited for a cold sandbox's init phase. Lambda reports init apart
        from the invocation; an emulated sandbox's init is an interpreter start and a boto3
        import on a machine shared with the whole pipeline, so emulated latency budgets leave it
        out. Against AWS it is 0: there the budget is the caller's, cold starts included."""
        if not self.emulated:
            return 0.0
        from pipeline.runtime.functions import log_directory
        from pipeline.runtime.sandbox import find_report

        assert self.state_dir is not None
        request_id = response.headers.get("x-amzn-requestid", "")
        report = find_report(log_directory(self.state_dir, self.env), request_id)
        assert report is not None, f"no REPORT line for request {request_id!r}"
        return report.init_ms / 1000

    def get(self, path: str, key: str | None = None, **params: str) -> requests.Response:
        headers = {"X-API-Key": key} if key is not None else {}
        return requests.get(
            self.dashboard_url.rstrip("/") + path, headers=headers, params=params, timeout=10
        )

    # -- running functions --------------------------------------------------------------------

    def runtime(self) -> Any:
        """The emulated runtime, with NewsAPI and the Function URL mapped to local stand-ins."""
        if self._runtime is None:
            from pipeline.adapters.target import Target
            from pipeline.runtime.functions import Runtime

            assert self.state_dir is not None and self.newsapi_url is not None
            ingestion = self.client("lambda").get_function_configuration(
                FunctionName=self.function("ingestion"), Qualifier="live"
            )
            real_newsapi = ingestion["Environment"]["Variables"]["NEWSAPI_BASE_URL"]
            hosts = {
                real_newsapi: self.newsapi_url,
                self.outputs["dashboard_url"].rstrip("/"): self.dashboard_url.rstrip("/"),
            }
            target = Target("emulated", self.region, self.endpoint)
            self._runtime = Runtime(target, self.env, self.state_dir, hosts)
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()

    def invoke(self, short: str, event: Any) -> Result:
        if self.emulated:
            invocation = self.runtime().invoke(self.function(short), event)
            return Result(invocation.payload, invocation.error)
        response = self.client("lambda").invoke(
            FunctionName=self.function(short), Qualifier="live", Payload=json.dumps(event)
        )
        payload = json.loads(response["Payload"].read() or b"null")
        return Result(None, payload) if response.get("FunctionError") else Result(payload, None)

    def run_schedule(self, short: str) -> Result:
        """Run a scheduled function now, with the event its schedule delivers."""
        rule = self.outputs["schedule_rules"][short]
        if self.emulated:
            from pipeline.runtime import schedules

            [invocation] = schedules.fire(self.runtime(), rule)
            return Result(invocation.payload, invocation.error)
        arn = self.client("events").describe_rule(Name=rule)["Arn"]
        return self.invoke(short, {"detail-type": "Scheduled Event", "resources": [arn]})

    def redrive_seconds(self, url: str) -> float:
        """How long the queue takes to hand a message that always fails to its DLQ: it is
        received maxReceiveCount times, each after a visibility timeout (18 minutes for the
        analysis queue on AWS), read from the queue itself."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
        )["Attributes"]
        receives = int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"])
        return float(attributes["VisibilityTimeout"]) * receives + REDRIVE_SLACK

    def drain_analysis(self) -> None:
        """Wait until the analysis queue is empty, in-flight messages included."""
        timeout = self.redrive_seconds(self.outputs["analysis_queue_url"])
        if self.emulated:
            from pipeline.runtime import queues

            [mapping] = queues.mappings(self.runtime(), self.function("analysis"))
            queues.drain(self.runtime(), mapping, timeout)
            return
        deadline = time.monotonic() + timeout
        while self.queue_depth(self.outputs["analysis_queue_url"], in_flight=True):
            assert time.monotonic() < deadline, "the analysis queue did not drain"
            time.sleep(2)

    def queue_depth(self, url: str, *, in_flight: bool = False) -> int:
        names = ["ApproximateNumberOfMessages"]
        if in_flight:
            names.append("ApproximateNumberOfMessagesNotVisible")
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)
        return sum(int(attributes["Attributes"][name]) for name in names)

    def take_all(self, url: str) -> list[str]:
        """Receive and delete every visible message; returns their bodies. Unlike PurgeQueue,
        which SQS allows once a minute per queue, it can run as often as the suite does."""
        sqs = self.client("sqs")
        bodies: list[str] = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            bodies += [m["Body"] for m in batch]
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                         for n, m in enumerate(batch)],
            )  # fmt: skip
        return bodies

    def alarm_states(self, timeout: float = 600.0, want: dict[str, str] | None = None) -> dict:
        """Alarm states after evaluation: emulated CloudWatch evaluates now; AWS's evaluates on
        its own period, so against AWS this waits (up to `timeout`) for the wanted states."""
        prefix = f"{self.env}-"
        if self.emulated:
            from pipeline.adapters.target import Target
            from pipeline.runtime import alarms

            return alarms.evaluate(Target("emulated", self.region, self.endpoint), prefix)
        cloudwatch = self.client("cloudwatch")
        deadline = time.monotonic() + timeout
        while True:
            pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix)
            states = {a["AlarmName"]: a["StateValue"] for p in pages for a in p["MetricAlarms"]}
            if not want or all(states.get(k) == v for k, v in want.items()):
                return states
            if time.monotonic() > deadline:
                return states
            time.sleep(15)

    def set_newsapi_scenario(self, name: str) -> None:
        assert self.newsapi_url, "NewsAPI scenarios need the fake NewsAPI (NEWSFLOW_NEWSAPI_URL)"
        requests.put(f"{self.newsapi_url}/_fake/scenario/{name}", timeout=5).raise_for_status()

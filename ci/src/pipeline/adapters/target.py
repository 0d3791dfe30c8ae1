"""Where an environment lives: the embedded emulator or a real AWS account.

The same Terraform, deploy code and tests run against both; only the clients' endpoint and
credentials differ. Emulated credentials are dummies; real ones come from the standard AWS
chain (OIDC in CI), never from this code."""

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pipeline.adapters import emulator, sessions
from pipeline.errors import UsageError
from pipeline.runtime import alarms

Kind = Literal["emulated", "aws"]
KINDS = ("emulated", "aws")
DEFAULT_REGION = "eu-west-1"
# Any key works with the emulator; a distinctive one lets the leak scan look for it. These are
# the account administrator's, who sets up what an operator creates once by hand on AWS.
EMULATED_KEYS = {
    "aws_access_key_id": "AKIAEMULATEDNEWSFLOW",
    "aws_secret_access_key": "emulated-only/newsflow/not-a-real-key",
}
# GitHub's OIDC token is not checked by moto; any non-empty token is accepted.
EMULATED_OIDC_TOKEN = "emulated-github-oidc-token"  # noqa: S105 - not a secret


# Per-function calls run concurrently (pipeline.concurrency); botocore's default pool of 10
# would open and discard a connection for every call beyond the tenth.
MAX_CONNECTIONS = 50


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials of a role session; `arn` names the principal."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    arn: str

    def __repr__(self) -> str:
        return f"Credentials(arn={self.arn!r})"

    def client_kwargs(self) -> dict[str, str | None]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token or None,
        }

    def environ(self) -> dict[str, str]:
        keys = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        return {**keys, "AWS_SESSION_TOKEN": self.session_token} if self.session_token else keys


@dataclass(frozen=True)
class Target:
    """An environment's AWS. An emulated target calls as `credentials` when it has them (the
    environment's deployer role), and as the account administrator until that role exists."""

    kind: Kind
    region: str
    endpoint: str | None = None
    credentials: Credentials | None = None

    def client(self, service: str) -> Any:
        if self.kind == "emulated":
            keys = self.credentials.client_kwargs() if self.credentials else EMULATED_KEYS
            return boto3.client(
                service, region_name=self.region, endpoint_url=self.endpoint, config=_config(),
                **keys,
            )  # fmt: skip
        return boto3.client(service, region_name=self.region, config=_config())

    def environ(self) -> dict[str, str]:
        """AWS_* variables for a subprocess (Terraform, the test suites) calling as this target."""
        if self.kind == "aws":
            return {}
        if self.credentials:
            return self.credentials.environ()
        return {
            "AWS_ACCESS_KEY_ID": EMULATED_KEYS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": EMULATED_KEYS["aws_secret_access_key"],
        }

    def alarms_firing(self, prefix: str) -> list[str]:
        """The names of alarms starting with `prefix` that are in ALARM. AWS evaluates alarms
        itself; the emulator does not, so the emulated runtime evaluates them now."""
        if self.kind == "emulated":
            return sorted(
                n for n, state in alarms.evaluate(self, prefix).items() if state == "ALARM"
            )
        pages = (
            self.client("cloudwatch")
            .get_paginator("describe_alarms")
            .paginate(AlarmNamePrefix=prefix, StateValue="ALARM")
        )
        return sorted(a["AlarmName"] for page in pages for a in page["MetricAlarms"])

    def administrator(self) -> "Target":
        """The emulated account's administrator: what an operator sets up once on AWS."""
        return replace(self, credentials=None)

    def as_service(self) -> "Target":
        """The emulated target as AWS itself: what the emulated runtime does on Lambda's,
        CloudWatch's or EventBridge's behalf is not a call of the account's principals."""
        assert self.kind == "emulated"
        return replace(self, credentials=SERVICE_CREDENTIALS)

    def as_function_role(self, role_arn: str, function: str, state: Path) -> Credentials:
        """The credentials Lambda hands a function: a session of its own execution role."""
        sts = self.as_service().client("sts")
        answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=function)
        return _credentials(answer, role_arn, state)


# What AWS itself does in the emulated runtime (Lambda fetching code, the event source poller,
# the scheduler, alarm evaluation) is signed with this key, so the access proof can tell it from
# the account's own principals.
SERVICE_CREDENTIALS = Credentials(
    "AKIAEMULATEDSERVICE0", "emulated-only/aws-service/not-a-real-key", "", "the AWS service"
)


def _config() -> Config:
    return Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        max_pool_connections=MAX_CONNECTIONS,
    )


def deployer_role(env: str) -> str:
    return f"{env}-deployer"


def as_deployer(tgt: Target, env: str, state: Path) -> Target:
    """The emulated target as the environment's deployer role, assumed the way GitHub Actions
    does (AssumeRoleWithWebIdentity); the administrator while the role does not exist yet."""
    if tgt.kind != "emulated":
        return tgt
    admin = tgt.administrator()
    try:
        role = admin.client("iam").get_role(RoleName=deployer_role(env))["Role"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return admin
    answer = boto3.client(
        "sts", region_name=tgt.region, endpoint_url=tgt.endpoint, **EMULATED_KEYS
    ).assume_role_with_web_identity(
        RoleArn=role["Arn"],
        RoleSessionName=f"pipeline-{env}",
        WebIdentityToken=EMULATED_OIDC_TOKEN,
    )
    return replace(admin, credentials=_credentials(answer, role["Arn"], state))


def _credentials(answer: dict[str, Any], role: str, state: Path) -> Credentials:
    keys = answer["Credentials"]
    session = answer["AssumedRoleUser"]["Arn"]
    sessions.record(state, keys["AccessKeyId"], session, role)
    return Credentials(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"], session)


def tfvar(repo: Path, env: str, name: str) -> str | None:
    """A simple string value from environments/<env>.tfvars (name = "value")."""
    text = (repo / "terraform" / "environments" / f"{env}.tfvars").read_text()
    match = re.search(rf'^\s*{re.escape(name)}\s*=\s*"([^"]*)"', text, re.MULTILINE)
    return match[1] if match else None


def resolve(
    repo: Path, state: Path, env: str, kind: str | None, *, start: bool = True
) -> Target | None:
    """The environment's target; an emulated one is started unless `start` is False, in which
    case None means the emulator is not running (so nothing is deployed there)."""
    chosen = kind or os.environ.get("PIPELINE_TARGET") or "emulated"
    if chosen not in KINDS:
        raise UsageError(f"unknown target {chosen!r}; use one of: {', '.join(KINDS)}")
    region = tfvar(repo, env, "region") or DEFAULT_REGION
    if chosen == "aws":
        return Target("aws", region)
    endpoint = emulator.external()
    if endpoint:
        emulator.attach(endpoint)
        return as_deployer(Target("emulated", region, endpoint), env, state)
    running = emulator.ensure_running(state)[0] if start else emulator.load(state)
    if running is None:
        return None
    return as_deployer(Target("emulated", region, running.endpoint), env, state)

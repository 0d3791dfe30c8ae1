"""Where an environment lives: the embedded emulator or a real AWS account.

The same Terraform, deploy code and tests run against both; only the clients' endpoint and
credentials differ. Emulated credentials are dummies; real ones come from the standard AWS
chain (OIDC in CI), never from this code."""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config

from pipeline import emulator
from pipeline.errors import UsageError

Kind = Literal["emulated", "aws"]
KINDS = ("emulated", "aws")
DEFAULT_REGION = "eu-west-1"
# Any key works with the emulator; a distinctive one lets the leak scan look for it.
EMULATED_KEYS = {
    "aws_access_key_id": "AKIAEMULATEDNEWSFLOW",
    "aws_secret_access_key": "emulated-only/newsflow/not-a-real-key",
}


# Per-function calls run concurrently (pipeline.concurrency); botocore's default pool of 10
# would open and discard a connection for every call beyond the tenth.
MAX_CONNECTIONS = 50


@dataclass(frozen=True)
class Target:
    kind: Kind
    region: str
    endpoint: str | None = None

    def client(self, service: str) -> Any:
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            max_pool_connections=MAX_CONNECTIONS,
        )
        if self.kind == "emulated":
            return boto3.client(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint,
                config=config,
                **EMULATED_KEYS,
            )
        return boto3.client(service, region_name=self.region, config=config)


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
        return Target("emulated", region, endpoint)
    running = emulator.ensure_running(state)[0] if start else emulator.load(state)
    return Target("emulated", region, running.endpoint) if running else None

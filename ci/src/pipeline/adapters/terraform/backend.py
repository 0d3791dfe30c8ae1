"""What must exist before Terraform can run: the state bucket, the lock table and the
environment's secrets. For emulated targets the pipeline creates them, with generated keys
kept in `.pipeline/secrets/` (mode 0600) and never printed. On AWS they are created once by an
operator; this module only checks them."""

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pipeline.adapters.target import Target
from pipeline.errors import RefusedError, UsageError


def backend_settings(repo: Path, env: str) -> dict[str, str]:
    path = repo / "terraform" / "backends" / f"{env}.hcl"
    try:
        text = path.read_text()
    except OSError:
        raise UsageError(f"{path} is missing; every environment needs a backend file") from None
    return dict(re.findall(r'^\s*(\w+)\s*=\s*"([^"]*)"', text, re.MULTILINE))


def secret_names(repo: Path, env: str) -> dict[str, str]:
    spec = json.loads((repo / "localstack" / "bootstrap.json").read_text())
    return {key: template.format(env=env) for key, template in spec["secrets"].items()}


def _secrets_file(state: Path, env: str) -> Path:
    directory = state / "secrets"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory / f"{env}.json"


def _write_private(path: Path, values: dict[str, str]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(values, handle)


def local_secrets(state: Path, env: str, names: dict[str, str]) -> dict[str, str]:
    """The emulated environment's generated keys, created once and kept private."""
    path = _secrets_file(state, env)
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError):
        values = {}
    if set(values) != set(names):
        values = {key: values.get(key) or secrets.token_urlsafe(32) for key in names}
        _write_private(path, values)
    return values


def emulated_keys(repo: Path, state: Path, env: str, target: Target) -> dict[str, str]:
    """The emulated environment's keys as the emulator holds them (see `_emulated_secrets`)."""
    return _emulated_secrets(state, env, secret_names(repo, env), target.client("secretsmanager"))


def _emulated_secrets(state: Path, env: str, names: dict[str, str], sm: Any) -> dict[str, str]:
    """The emulator is the truth for its secrets: keys it already holds (a fresh state directory
    against an emulator that outlived it, as the Dagger module's calls are) are adopted locally;
    missing ones are created from the local keys."""
    values = local_secrets(state, env, names)
    held = dict(values)
    for key, name in names.items():
        try:
            held[key] = sm.get_secret_value(SecretId=name)["SecretString"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            sm.create_secret(Name=name, SecretString=values[key])
    if held != values:
        _write_private(_secrets_file(state, env), held)
    return held


def _exists(call: Any, missing_codes: set[str]) -> bool:
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in missing_codes:
            return False
        raise
    return True


def _create(call: Any, exists_code: str) -> None:
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != exists_code:
            raise


def ensure(repo: Path, state: Path, env: str, target: Target) -> dict[str, str]:
    """Create (emulated, as the account administrator) the prerequisites, then check them with
    calls the deployer role is granted; returns the backend settings."""
    backend = backend_settings(repo, env)
    if target.kind == "emulated":
        _create_emulated(state, env, backend, secret_names(repo, env), target.administrator())
    missing = _missing(backend, target)
    if missing:
        raise RefusedError(
            f"{', '.join(missing)} not found in the AWS account; create the state bucket and "
            "lock table once (see README, 'Setting up AWS') before promoting"
        )
    return backend


def _missing(backend: dict[str, str], target: Target) -> list[str]:
    """The state bucket and lock table, looked for only where this environment's state lives:
    its deployer may list its own prefix and read its own lock entry, nothing more."""
    bucket, table = backend["bucket"], backend["dynamodb_table"]
    prefix = backend["key"].rsplit("/", 1)[0] + "/"
    have_bucket = _exists(
        lambda: target.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1),
        {"NoSuchBucket"},
    )
    have_table = _exists(
        lambda: target.client("dynamodb").get_item(
            TableName=table, Key={"LockID": {"S": f"{bucket}/{backend['key']}"}}
        ),
        {"ResourceNotFoundException"},
    )
    return [name for name, ok in ((bucket, have_bucket), (table, have_table)) if not ok]


def _create_emulated(
    state: Path, env: str, backend: dict[str, str], names: dict[str, str], admin: Target
) -> None:
    """What an operator creates once on AWS. Environments share the state bucket and lock table
    and may bootstrap at the same time: losing the race to create them is success."""
    s3, dynamodb = admin.client("s3"), admin.client("dynamodb")
    bucket, table = backend["bucket"], backend["dynamodb_table"]
    if not _exists(lambda: s3.head_bucket(Bucket=bucket), {"404", "NoSuchBucket"}):
        _create(
            lambda: s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": admin.region}
            ),
            "BucketAlreadyOwnedByYou",
        )
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if not _exists(lambda: dynamodb.describe_table(TableName=table), {"ResourceNotFoundException"}):
        _create(
            lambda: dynamodb.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            ),
            "ResourceInUseException",
        )
        dynamodb.get_waiter("table_exists").wait(TableName=table)
    _emulated_secrets(state, env, names, admin.client("secretsmanager"))

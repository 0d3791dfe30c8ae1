"""Rotating an environment's generated key: a new AWSCURRENT value, the one before kept as
AWSPREVIOUS. The dashboard accepts both, and re-reads them when a key it does not know is
presented, so a rotation breaks neither the canary (it reads AWSCURRENT) nor a client still
holding the old key, until the next rotation."""

import secrets
from pathlib import Path

from botocore.exceptions import ClientError

from pipeline.adapters.target import Target
from pipeline.adapters.terraform import backend
from pipeline.errors import RefusedError, UsageError
from pipeline.state.stage_log import StageLog

# The keys this pipeline generates. NewsAPI issues its own key, so a new one comes from NewsAPI.
GENERATED = ("dashboard",)


def secret_id(repo: Path, env: str, name: str) -> str:
    """The secret behind a key's short name; refuses a key this pipeline does not generate."""
    names = backend.secret_names(repo, env)
    if name in GENERATED:
        return names[name]
    issued = (
        f"; the NewsAPI key comes from NewsAPI: put the key it issues into {names['newsapi']} "
        "(aws secretsmanager put-secret-value)"
        if name == "newsapi"
        else ""
    )
    raise UsageError(
        f"{name!r} is not a key this pipeline generates; it rotates: {', '.join(GENERATED)}"
        + issued
    )


def rotate(repo: Path, state: Path, env: str, tgt: Target, secret: str, log: StageLog) -> None:
    """Put a new value. The value is never printed or recorded."""
    sm = tgt.client("secretsmanager")
    try:
        stages = sm.describe_secret(SecretId=secret)["VersionIdsToStages"]
        previous = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
        version = sm.put_secret_value(SecretId=secret, SecretString=secrets.token_urlsafe(32))[
            "VersionId"
        ]
        stages = sm.describe_secret(SecretId=secret)["VersionIdsToStages"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            raise RefusedError(
                f"{secret} does not exist in {env}; it is created with the environment "
                f"(`./pipeline promote --env {env}` emulated, by an operator on AWS)"
            ) from None
        raise
    if "AWSCURRENT" not in stages.get(version, []) or "AWSPREVIOUS" not in stages.get(previous, []):
        raise RefusedError(
            f"{secret}: after the rotation AWSCURRENT and AWSPREVIOUS are not the new and the "
            "old version; another rotation ran at the same time. Check the secret's versions"
        )
    if tgt.kind == "emulated":
        # The harness's local copy of the keys follows (the leak scan looks for every value).
        backend.emulated_keys(repo, state, env, tgt.administrator())
    log.detail = (
        f"{secret}: version {version[:8]} is AWSCURRENT, {previous[:8]} AWSPREVIOUS "
        "(still accepted until the next rotation)"
    )

"""Uploading an artifact to an environment's package bucket, immutably and verified.

`<sha>/<function>.zip` is written once. An existing object with the same digest is reused; one
with a different digest is refused, because the same sha must always mean the same bytes."""

import hashlib
from typing import Any

from botocore.exceptions import ClientError

from pipeline.adapters.target import Target
from pipeline.concurrency import map_threads
from pipeline.errors import StageFailedError


def _remote_sha256(s3: Any, bucket: str, key: str) -> str | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
            return None
        raise
    return hashlib.sha256(body).hexdigest()


def upload_one(s3: Any, bucket: str, key: str, data: bytes, sha256: str) -> str:
    """Returns "uploaded" or "present"; raises on a digest mismatch before or after.

    A `<sha>-dirty/` artifact is a local work in progress and may be replaced; it can never
    reach prod, which requires a clean tree."""
    existing = _remote_sha256(s3, bucket, key)
    if existing == sha256:
        return "present"
    if existing is not None and not key.split("/", 1)[0].endswith("-dirty"):
        raise StageFailedError(
            f"s3://{bucket}/{key} exists with sha256 {existing[:12]}, not {sha256[:12]}: artifacts "
            "are immutable. Commit your change (a new sha) instead of rebuilding the same one"
        )
    s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata={"sha256": sha256})
    stored = _remote_sha256(s3, bucket, key)
    if stored != sha256:
        raise StageFailedError(
            f"s3://{bucket}/{key} reads back with sha256 {stored}, expected {sha256}; "
            "the upload was corrupted, re-run the promotion"
        )
    return "uploaded"


def upload_all(target: Target, bucket: str, items: list[tuple[str, bytes, str]]) -> dict[str, str]:
    """Upload concurrently, through one thread-safe client; returns key -> outcome."""
    s3 = target.client("s3")
    outcomes = map_threads(upload_one, [(s3, bucket, *item) for item in items])
    return {key: outcome for (key, _, _), outcome in zip(items, outcomes, strict=True)}

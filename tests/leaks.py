"""The secret-leak scan: everything a test session wrote — logs, captured output, run records,
the GitHub step summary, verify reports — must not contain any secret value.

Secrets are the generated keys of every emulated environment (`secrets/<env>.json` in each state
directory) and the emulator's AWS secret keys (the administrator's and the AWS service's)."""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.adapters.target import EMULATED_KEYS, SERVICE_CREDENTIALS

# Written by tools, not by us, or not text: provider binaries, unpacked Lambda code, zips.
SKIPPED_DIRS = {".terraform", "plugin-cache", "code", "layer", "artifacts", "cache", ".venv",
                "venv", "node_modules", "__pycache__", ".git"}  # fmt: skip
SKIPPED_SUFFIXES = {".zip", ".pyc", ".whl", ".so", ".tfplan"}
MAX_BYTES = 20_000_000


@dataclass
class ScanResult:
    files: int
    bytes: int
    secrets: int
    leaks: list[str]


def secret_values(base: Path) -> set[str]:
    values = {EMULATED_KEYS["aws_secret_access_key"], SERVICE_CREDENTIALS.secret_access_key}
    for path in base.rglob("secrets/*.json"):
        try:
            values.update(v for v in json.loads(path.read_text()).values() if isinstance(v, str))
        except (OSError, ValueError):
            continue
    return {v for v in values if len(v) >= 16}


def outputs(base: Path) -> Iterator[Path]:
    """Every file under base except source: in a git work tree (a test's clone of the
    repository) only its `.pipeline/` state is output."""
    for root, dirs, files in os.walk(base):
        if ".git" in dirs or ".git" in files:
            dirs[:] = [d for d in dirs if d == ".pipeline"]
            continue
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and d != "secrets"]
        yield from (Path(root) / name for name in files)


def scan(base: Path) -> ScanResult:
    secrets = secret_values(base)
    files = size = 0
    leaks = []
    for path in outputs(base):
        if path.suffix in SKIPPED_SUFFIXES or path.name == "tfplan":
            continue
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        files += 1
        size += len(data)
        text = data.decode("utf-8", "replace")
        leaks += [f"{path.relative_to(base)} contains a secret ({s[:4]}…)" for s in secrets
                  if s in text]  # fmt: skip
    return ScanResult(files, size, len(secrets), leaks)

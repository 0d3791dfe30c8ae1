"""Which role session each emulated access key belongs to.

Whoever assumes a role in the emulator (the pipeline as a deployer, the runtime for a function)
appends the key id, session and role here, in the state directory; the proof reads it to know
who signed each recorded call. moto's own record of sessions cannot be read back once a
function exists (its /moto-api/data.json fails on Lambda's models), and no secret is kept here.
A key missing from this file is reported as an unknown principal, never trusted."""

import json
import os
from pathlib import Path

FILE = "sessions.jsonl"


def record(state: Path, access_key_id: str, session: str, role: str) -> None:
    line = json.dumps({"access_key_id": access_key_id, "session": session, "role": role}) + "\n"
    state.mkdir(parents=True, exist_ok=True)
    # One O_APPEND write per line: concurrent writers (suites, runtimes) never interleave.
    descriptor = os.open(state / FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


def load(state: Path) -> dict[str, tuple[str, str]]:
    """Access key id → (session ARN, role ARN)."""
    try:
        lines = (state / FILE).read_text().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        try:
            entry = json.loads(line)
            found[entry["access_key_id"]] = (entry["session"], entry["role"])
        except (ValueError, KeyError):
            continue  # a torn line from a process killed mid-write names no one
    return found

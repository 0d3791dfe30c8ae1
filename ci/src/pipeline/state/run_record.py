"""The run record: `.pipeline/runs/<id>/run.json`, every input and outcome of one run.

It is rewritten atomically after each stage, so a run that dies still leaves what it did.
CI uploads it; `pipeline replay` re-runs it offline.
"""

import json
import os
import platform
import secrets
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.state.stage_log import StageResult

SCHEMA = "newsflow.run/1"


def tool_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("newsflow-pipeline", "boto3", "moto"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    try:
        # `terraform version` asks checkpoint-api.hashicorp.com for a newer release unless told
        # not to (the Dagger executor's resolver logged that lookup from every run record).
        done = subprocess.run(
            ["terraform", "version", "-json"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "CHECKPOINT_DISABLE": "1"},
        )
        versions["terraform"] = json.loads(done.stdout)["terraform_version"]
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        versions["terraform"] = "absent"
    return versions


@dataclass
class RunRecord:
    directory: Path
    data: dict[str, Any] = field(default_factory=dict)
    # Concurrent stages finish on different threads; one writer at a time keeps the file whole.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def create(cls, state_dir: Path, command: str, inputs: dict[str, Any]) -> "RunRecord":
        now = datetime.now(UTC)
        run_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        record = cls(state_dir / "runs" / run_id)
        record.data = {
            "schema": SCHEMA,
            "id": run_id,
            "command": command,
            "started_at": now.isoformat(timespec="seconds"),
            "finished_at": None,
            "inputs": inputs,
            "tools": tool_versions(),
            "stages": [],
            "result": "running",
            "exit_code": None,
        }
        record.save()
        return record

    @property
    def path(self) -> Path:
        return self.directory / "run.json"

    def add_stage(self, result: StageResult) -> None:
        with self._lock:
            self.data["stages"].append(result.to_json())
        self.save()

    def finish(self, result: str, exit_code: int, **extra: Any) -> None:
        self.data.update(extra)
        self.data.update(
            result=result,
            exit_code=exit_code,
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self.save()

    def save(self) -> None:
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
            os.replace(tmp, self.path)

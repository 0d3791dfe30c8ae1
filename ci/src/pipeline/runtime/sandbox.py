"""Warm sandboxes: one long-lived subprocess per concurrent execution of a function version.

Like Lambda, a sandbox serves one invocation at a time and is reused while warm, so module-level
state (clients, the secret cache) survives between invocations. A timeout kills the sandbox,
as AWS does."""

import contextlib
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
LOG_TAIL_LINES = 30
# Lambda's init phase (interpreter start, handler import) has its own 10-second limit; the
# function's timeout covers only the invocation.
INIT_LIMIT = 10.0
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>[\d.]+) ms"
    r"(?:\tInit Duration: (?P<init>[\d.]+) ms)?$"
)


@dataclass(frozen=True)
class FunctionSpec:
    """Everything needed to start a sandbox for one published version."""

    name: str
    version: str
    handler: str
    timeout: float
    memory: int
    code_dir: Path
    layer_dir: Path
    environ: dict[str, str] = field(hash=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.version


class SandboxDied(RuntimeError):
    """The sandbox exited or timed out before answering."""


@dataclass(frozen=True)
class Report:
    """An invocation's REPORT line: its own duration, and the init phase's when it was cold."""

    duration_ms: float
    init_ms: float


def find_report(log_dir: Path, request_id: str) -> Report | None:
    """The REPORT line of one request among a function's sandbox logs, as CloudWatch Logs
    Insights would find it by its request id."""
    for path in log_dir.glob("*.log"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            found = REPORT.match(line)
            if found and found["id"] == request_id:
                return Report(float(found["duration"]), float(found["init"] or 0.0))
    return None


class Sandbox:
    def __init__(self, spec: FunctionSpec, log_dir: Path) -> None:
        self.spec = spec
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{spec.name}-{spec.version}-{time.time_ns()}.log"
        read_fd, write_fd = os.pipe()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(BOOTSTRAP), str(spec.code_dir),
                 str(spec.layer_dir), spec.handler, str(write_fd), repr(time.monotonic())],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=spec.code_dir,
                env=spec.environ,
                pass_fds=(write_fd,),
            )  # fmt: skip
        os.close(write_fd)
        self._responses = read_fd
        self._buffer = b""
        self.initialised = False
        self.init_seconds = 0.0  # the init phase's duration, once it is over

    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its response; kill the sandbox on a timeout. A cold
        sandbox first finishes its init, under Lambda's own init limit."""
        assert self.process.stdin is not None
        if not self.initialised:
            ready = self._read_line(INIT_LIMIT, f"Init timed out after {INIT_LIMIT:.2f} seconds")
            self.init_seconds = ready["init_ms"] / 1000
            self.initialised = True
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise SandboxDied("the sandbox exited before the invocation") from None
        return self._read_line(timeout, f"Task timed out after {timeout:.2f} seconds")

    def _read_line(self, timeout: float, timed_out: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise SandboxDied(timed_out)
            ready, _, _ = select.select([self._responses], [], [], remaining)
            if ready:
                chunk = os.read(self._responses, 65536)
                if not chunk:
                    self.process.wait(timeout=5)
                    raise SandboxDied(f"the sandbox exited with code {self.process.returncode}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        try:
            with self.log_path.open("rb") as log:
                return [
                    raw.decode("utf-8", "replace").rstrip("\n") for raw in deque(log, maxlen=lines)
                ]
        except OSError:
            return []

    def close(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stdin:
            self.process.stdin.close()
        with contextlib.suppress(OSError):
            os.close(self._responses)


class Pool:
    """Idle warm sandboxes per function version; a busy one is never shared."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._idle: dict[tuple[str, str], list[Sandbox]] = {}
        self._all: list[Sandbox] = []
        self._lock = threading.Lock()
        self.cold_starts = 0

    def acquire(self, spec: FunctionSpec) -> Sandbox:
        with self._lock:
            idle = self._idle.setdefault(spec.key, [])
            while idle:
                sandbox = idle.pop()
                if sandbox.alive():
                    return sandbox
            self.cold_starts += 1
        sandbox = Sandbox(spec, self.log_dir)
        with self._lock:
            self._all.append(sandbox)
        return sandbox

    def release(self, sandbox: Sandbox) -> None:
        if sandbox.alive():
            with self._lock:
                self._idle.setdefault(sandbox.spec.key, []).append(sandbox)

    def close(self) -> None:
        with self._lock:
            sandboxes, self._all, self._idle = self._all, [], {}
        for sandbox in sandboxes:
            sandbox.close()

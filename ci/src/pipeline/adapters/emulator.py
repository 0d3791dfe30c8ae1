"""The embedded AWS emulator: a moto server on 127.0.0.1, started and owned by the pipeline.

A background emulator is described by `.pipeline/emulator.json` (pid, port, endpoint). It is
trusted only while that pid is alive, is a moto server, and itself listens on that port, so a
stale file or a port taken over by another program is never mistaken for our emulator.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from pipeline.errors import EmulatorError, UsageError

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STATE_FILE = "emulator.json"
# An emulator someone else runs, e.g. the Dagger module's emulator service.
ENDPOINT_ENV = "PIPELINE_EMULATOR_ENDPOINT"


@dataclass(frozen=True)
class Emulator:
    pid: int
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.endpoint}/moto-api/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def owns_port(self) -> bool:
        """True when this pid is alive, is moto, and holds the listening socket on the port."""
        cmdline = Path(f"/proc/{self.pid}/cmdline")
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return _pid_alive(self.pid) and not Path("/proc").is_dir()
        if b"moto.server" not in args:
            return False
        return _listening_inode(self.port) in _socket_inodes(self.pid)

    def configure(self) -> None:
        """Use moto's no-Docker Lambda backend; it must be set before any function exists."""
        response = requests.post(
            f"{self.endpoint}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=5
        )
        if response.status_code >= 300:
            raise EmulatorError(f"moto at {self.endpoint} rejected its configuration")

    def reset(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def stop(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def _unmeasured(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without coverage.py's subprocess hook: a measured test run would trace
    moto's server too, measuring nothing of ours and slowing every emulated call."""
    return {k: v for k, v in environ.items() if k != "COVERAGE_PROCESS_CONFIG"}


def start(log_path: Path | None = None, *, detach: bool = False, attempts: int = 3) -> Emulator:
    """Start a moto server on a free port and wait until it answers and is configured."""
    failure = ""
    for _ in range(attempts):
        port = free_port()
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
                env={
                    **_unmeasured(os.environ),
                    "MOTO_RECORDER_FILEPATH": str(_recording_file(log_path)),
                },
            )
        finally:
            if log_path:
                log.close()
        emulator = Emulator(process.pid, port)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if emulator.owns_port() and emulator.healthy():
                emulator.configure()
                return emulator
            time.sleep(0.1)
        failure = f"exit code {process.poll()}" if process.poll() is not None else "timed out"
        emulator.stop()
        process.wait(timeout=5)
    where = f"; see {log_path}" if log_path else ""
    raise EmulatorError(f"moto server did not start on {HOST} ({failure}){where}")


def _recording_file(log_path: Path | None) -> Path:
    """Each emulator's own request recording (moto's default is `moto_recording` in its working
    directory, which every emulator started there would share). The requests carry secret
    values, so the directory is private."""
    if log_path is None:
        return Path(tempfile.mkdtemp(prefix="moto-recorder-")) / "recording.jsonl"
    directory = log_path.parent / "recorder"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory / f"{log_path.stem}.jsonl"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def load(state_dir: Path) -> Emulator | None:
    """The recorded background emulator, if the record is readable and still describes it."""
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
        emulator = Emulator(int(data["pid"]), int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return emulator if emulator.owns_port() and emulator.healthy() else None


def ensure_running(state_dir: Path) -> tuple[Emulator, bool]:
    """Reuse the background emulator or start one; returns it and whether it was started now."""
    current = load(state_dir)
    if current:
        return current, False
    emulator = start(state_dir / "emulator.log", detach=True)
    record = {**asdict(emulator), "endpoint": emulator.endpoint, "started_at": time.time()}
    tmp = state_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(state_dir / STATE_FILE)
    return emulator, True


def external() -> str | None:
    return os.environ.get(ENDPOINT_ENV, "").rstrip("/") or None


def use_external(endpoint: str) -> None:
    """`--emulator-endpoint`: this run, and every process it starts, uses that emulator (moto,
    LocalStack: any that answers AWS's APIs on one endpoint) instead of its own."""
    address = urlsplit(endpoint)
    if (
        address.scheme not in ("http", "https")
        or not address.hostname
        or address.path not in ("", "/")
    ):
        raise UsageError(
            f"--emulator-endpoint {endpoint!r} is not an emulator's base URL; pass scheme, host "
            "and port, e.g. http://127.0.0.1:5000 (moto) or http://localhost:4566 (LocalStack)"
        )
    os.environ[ENDPOINT_ENV] = endpoint.rstrip("/")


@dataclass(frozen=True)
class External:
    """An emulator someone else runs, as the test harness uses one: reset between tests through
    moto's API. LocalStack has no such reset, which the first reset says."""

    endpoint: str

    def reset(self) -> None:
        response = requests.post(f"{self.endpoint}/moto-api/reset", timeout=10)
        if response.status_code == 404:
            raise EmulatorError(
                f"{self.endpoint} has no /moto-api/reset; the unit suite resets the account "
                "between tests, which only moto allows"
            )
        response.raise_for_status()


def attach(endpoint: str) -> None:
    """Use an emulator the pipeline does not own: it must answer; moto gets its Lambda
    configuration (LocalStack has no such endpoint and answers 404, which is fine)."""
    try:
        requests.get(endpoint, timeout=5)
        requests.post(
            f"{endpoint}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=5
        )
    except requests.RequestException:
        raise EmulatorError(
            f"no emulator answers at {endpoint} ({ENDPOINT_ENV}); start it, or unset "
            f"{ENDPOINT_ENV} to let the pipeline run its own"
        ) from None


def alive(state_dir: Path) -> bool:
    """Whether the emulator this run used still answers."""
    endpoint = external()
    if endpoint:
        try:
            requests.get(endpoint, timeout=5)
        except requests.RequestException:
            return False
        return True
    return load(state_dir) is not None


def stop_background(state_dir: Path) -> Emulator | None:
    current = load(state_dir)
    if current:
        current.stop()
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return current


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    return True


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def _listening_inode(port: int) -> str | None:
    """The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp."""
    wanted = f"0100007F:{port:04X}"
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] == wanted and fields[3] == "0A":
                return fields[9]
    return None

"""The embedded AWS emulator: a moto server on https://127.0.0.1, started and owned by the
pipeline (TLS with a private certificate, see `pipeline.tls`).

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
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from pipeline.errors import EmulatorError
from pipeline.tls import ensure_certificate

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STATE_FILE = "emulator.json"


@dataclass(frozen=True)
class Emulator:
    pid: int
    port: int
    ca_bundle: str | None  # None: plain HTTP (unit tests, which need no bucket policy)

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.ca_bundle else 'http'}://{HOST}:{self.port}"

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        verify = self.ca_bundle or True
        return requests.request(
            method, f"{self.endpoint}{path}", verify=verify, timeout=10, **kwargs
        )

    def healthy(self) -> bool:
        try:
            return self._call("GET", "/moto-api/").status_code == 200
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
        response = self._call("POST", "/moto-api/config", json={"lambda": {"use_docker": False}})
        if response.status_code >= 300:
            raise EmulatorError(f"moto at {self.endpoint} rejected its configuration")

    def reset(self) -> None:
        self._call("POST", "/moto-api/reset").raise_for_status()

    def stop(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def start(
    directory: Path, *, detach: bool = False, tls: bool = True, attempts: int = 3
) -> Emulator:
    """Start a moto server on a free port and wait until it answers and is configured.

    `directory` keeps its certificate and log. Without TLS every call is about twice as fast
    (werkzeug closes each connection, so TLS costs a handshake per call)."""
    log_path = directory / "emulator.log"
    tls_args: list[str] = []
    cert: Path | None = None
    if tls:
        cert, key = ensure_certificate(directory)
        tls_args = ["--ssl-cert", str(cert), "--ssl-key", str(key)]
    failure = ""
    for _ in range(attempts):
        port = free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port), *tls_args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )  # fmt: skip
        emulator = Emulator(process.pid, port, str(cert) if cert else None)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if emulator.owns_port() and emulator.healthy():
                emulator.configure()
                return emulator
            time.sleep(0.1)
        failure = f"exit code {process.poll()}" if process.poll() is not None else "timed out"
        emulator.stop()
        process.wait(timeout=5)
    raise EmulatorError(f"moto server did not start on {HOST} ({failure}); see {log_path}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def load(state_dir: Path) -> Emulator | None:
    """The recorded background emulator, if the record is readable and still describes it."""
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
        emulator = Emulator(int(data["pid"]), int(data["port"]), data["ca_bundle"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return emulator if emulator.owns_port() and emulator.healthy() else None


def ensure_running(state_dir: Path) -> tuple[Emulator, bool]:
    """Reuse the background emulator or start one; returns it and whether it was started now."""
    current = load(state_dir)
    if current:
        return current, False
    emulator = start(state_dir, detach=True)
    record = {**asdict(emulator), "endpoint": emulator.endpoint, "started_at": time.time()}
    tmp = state_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(state_dir / STATE_FILE)
    return emulator, True


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

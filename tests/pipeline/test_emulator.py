"""The background emulator: started once, found again, and never confused with a stale record
or another program's port."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.adapters import emulator
from tests.conftest import REPO
from tests.runner import Cli

pytestmark = pytest.mark.pipeline


def _cli(state: Path, *args: str) -> subprocess.CompletedProcess:
    return Cli(REPO, state).run("emulator", *args, timeout=120)


def test_start_status_stop_through_the_cli(tmp_path: Path) -> None:
    try:
        assert _cli(tmp_path, "start").returncode == 0
        status = json.loads(_cli(tmp_path, "status", "--json").stdout)
        assert status["running"] is True
        assert status["endpoint"].startswith("http://127.0.0.1:")
        again = _cli(tmp_path, "start")
        assert "already running" in again.stderr
        running = emulator.load(tmp_path)
        assert running is not None and running.endpoint == status["endpoint"]
    finally:
        assert "emulator stopped" in _cli(tmp_path, "stop").stderr
    assert json.loads(_cli(tmp_path, "status", "--json").stdout)["running"] is False
    assert not (tmp_path / "emulator.json").exists()


def test_stale_record_of_a_dead_process_is_replaced(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "emulator.json").write_text(json.dumps({"pid": dead.pid, "port": 1}))
    assert emulator.load(tmp_path) is None
    started, fresh = emulator.ensure_running(tmp_path)
    try:
        assert fresh and started.pid != dead.pid and started.healthy()
    finally:
        emulator.stop_background(tmp_path)


def test_a_port_held_by_another_program_is_never_trusted(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        # A live pid that is not moto, and a port that moto does not hold.
        (tmp_path / "emulator.json").write_text(json.dumps({"pid": os.getpid(), "port": port}))
        assert emulator.load(tmp_path) is None
        started, fresh = emulator.ensure_running(tmp_path)
        try:
            assert fresh and started.port != port
        finally:
            emulator.stop_background(tmp_path)


def test_unreadable_record_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "emulator.json").write_text("{not json")
    assert emulator.load(tmp_path) is None


def test_a_measured_run_does_not_trace_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """coverage.py's subprocess hook is left out of moto's environment; the rest is kept."""
    monkeypatch.setenv("COVERAGE_PROCESS_CONFIG", "serialized-config")
    monkeypatch.setenv("NEWSFLOW_KEPT", "1")
    server = emulator.start(tmp_path / "moto.log")
    try:
        raw = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
        names = {item.split(b"=", 1)[0].decode() for item in raw if item}
    finally:
        server.stop()
    assert "NEWSFLOW_KEPT" in names and "COVERAGE_PROCESS_CONFIG" not in names

"""Run the real `pipeline` CLI in subprocesses, with its state in a temporary directory."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.adapters import emulator
from pipeline.adapters.target import DEFAULT_REGION, Target
from pipeline.state.ledger import Ledger
from tests.conftest import REPO

pytestmark = pytest.mark.pipeline


@dataclass
class Cli:
    repo: Path
    state: Path
    extra_env: dict[str, str]

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        env = {**os.environ, "PIPELINE_STATE_DIR": str(self.state), **self.extra_env}
        env["PIPELINE_ROOT"] = str(self.repo)
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            cwd=self.repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        # Kept for the session's secret-leak scan (tests/leaks.py).
        captured = self.state.parent / "captured"
        captured.mkdir(exist_ok=True)
        (captured / f"{time.time_ns()}.log").write_text(f"$ {args}\n{done.stdout}{done.stderr}")
        return done

    def json(self, *args: str) -> tuple[int, dict]:
        done = self.run(*args, "--json")
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}

    def target(self) -> Target:
        running = emulator.load(self.state)
        assert running is not None, "the emulator is not running"
        return Target("emulated", DEFAULT_REGION, running.endpoint)

    def ledger(self, env: str = "preprod") -> Ledger:
        return Ledger(self.target(), env)

    def stop(self) -> None:
        self.run("emulator", "stop")


def failing_terraform(directory: Path, message: str) -> Path:
    """A terraform wrapper whose `plan` fails with `message`; every other command is real."""
    real = subprocess.run(["which", "terraform"], capture_output=True, text=True, check=True)
    wrapper = directory / "terraform"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = plan ]; then echo "Error: {message}" >&2; exit 1; fi\n'
        f'exec {real.stdout.strip()} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def commit(repo: Path, path: str, text: str, message: str = "") -> None:
    """Write `text` to `path` in the clone `repo` and commit it."""
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run([*git, "add", path], check=True)
    subprocess.run([*git, "commit", "-qm", message or f"change {path}"], check=True)


def clone(source: Path, destination: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(destination)], check=True)
    return destination


@pytest.fixture(scope="session")
def repo_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean clone of the committed tree, so the sha is never -dirty."""
    return clone(REPO, tmp_path_factory.mktemp("clone") / "repo")


@pytest.fixture(scope="session")
def cli(repo_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    runner = Cli(repo_clone, tmp_path_factory.mktemp("state"), {})
    yield runner
    runner.stop()


@pytest.fixture(scope="session")
def deployed_preprod(cli: Cli) -> dict:
    """The first `promote --env preprod` of the session's clone; later tests build on it."""
    code, outcome = cli.json("promote", "--env", "preprod")
    assert code == 0, outcome.get("message", outcome)
    return outcome

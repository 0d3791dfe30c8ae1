"""The one way tests run the `pipeline` CLI, and the git helpers that make the clones it runs
in."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.adapters import emulator
from pipeline.adapters.target import DEFAULT_REGION, Target
from pipeline.state.ledger import Ledger


@dataclass
class Cli:
    """The real `pipeline` CLI in a subprocess, as a user runs it: in `repo`, with its state in
    `state`. `environ` replaces the inherited environment when given (a test that proves which
    variables a verb needs); `extra_env` is laid over either."""

    repo: Path
    state: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] | None = None

    def env(self) -> dict[str, str]:
        base = dict(os.environ) if self.environ is None else dict(self.environ)
        base.pop("PIPELINE_EMULATOR_ENDPOINT", None)  # a test's own emulator, never a shared one
        return {**base, "PIPELINE_STATE_DIR": str(self.state), "PIPELINE_ROOT": str(self.repo),
                **self.extra_env}  # fmt: skip

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pipeline", *args]

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        done = subprocess.run(self.command(*args), cwd=self.repo, env=self.env(), text=True,
                              capture_output=True, timeout=timeout, check=False)  # fmt: skip
        # Kept for the session's secret-leak scan (tests/leaks.py).
        captured = self.state.parent / "captured"
        captured.mkdir(exist_ok=True)
        (captured / f"{time.time_ns()}.log").write_text(f"$ {args}\n{done.stdout}{done.stderr}")
        return done

    def start(self, *args: str) -> subprocess.Popen:
        """The verb running in the background, for tests that act while it runs."""
        return subprocess.Popen(self.command(*args), cwd=self.repo, env=self.env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip

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


def commit(repo: Path, path: str, text: str, message: str = "") -> None:
    """Write `text` to `path` in the clone `repo` and commit it."""
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run([*git, "add", path], check=True)
    subprocess.run([*git, "commit", "-qm", message or f"change {path}"], check=True)


def clone(source: Path, destination: Path) -> Path:
    """A copy, never hardlinks: in a container the source sits in a lower overlayfs layer,
    where a hardlink is copied up and git refuses it ("hardlink different from source")."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(source), str(destination)],
                   check=True)  # fmt: skip
    return destination


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

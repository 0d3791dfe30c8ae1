"""`pipeline test`: the repository's whole test suite plus ruff, as CI runs it."""

import os
import subprocess
import sys
from pathlib import Path

from pipeline import console

# Most of the suite waits on Terraform and the emulator rather than on a CPU, so it runs on more
# pytest-xdist workers than there are cores. Each test module stays on one worker (`loadfile`),
# so module- and session-scoped deployments are built once per worker that needs them.
WORKERS_PER_CPU = 2
MAX_WORKERS = 3


def parallel_args(pytest_args: list[str]) -> list[str]:
    """xdist's arguments, unless the caller chose its own or asked for one process (-p no:xdist
    or -n 0)."""
    chosen = any(a.startswith(("-n", "--numprocesses")) for a in pytest_args)
    if chosen or "no:xdist" in pytest_args:
        return []
    workers = min(MAX_WORKERS, WORKERS_PER_CPU * (os.cpu_count() or 1))
    return ["-n", str(workers), "--dist", "loadfile"]


def run(repo: Path, pytest_args: list[str]) -> int:
    """Lint first (fast), then pytest last so that its summary line closes the output."""
    lint = {
        "ruff check": [sys.executable, "-m", "ruff", "check", "."],
        "ruff format --check": [sys.executable, "-m", "ruff", "format", "--check", "."],
    }
    failed = []
    for name, command in lint.items():
        console.err.print(f"[bold]▶ {name}[/]")
        if subprocess.run(command, cwd=repo, check=False).returncode != 0:
            failed.append(name)
    console.err.print("[bold]▶ pytest[/]")
    code = subprocess.run(
        [sys.executable, "-m", "pytest", *parallel_args(pytest_args), *pytest_args],
        cwd=repo,
        check=False,
    ).returncode
    if failed:
        fix = ".venv/bin/ruff format . && .venv/bin/ruff check --fix ."
        console.error(f"{', '.join(failed)} failed; fix with `{fix}`")
        return 1
    return code

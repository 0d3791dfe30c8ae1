"""`pipeline test`: the repository's whole test suite plus ruff, as CI runs it."""

import subprocess
import sys
from pathlib import Path

from pipeline import console


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
        [sys.executable, "-m", "pytest", *pytest_args], cwd=repo, check=False
    ).returncode
    if failed:
        fix = ".venv/bin/ruff format . && .venv/bin/ruff check --fix ."
        console.error(f"{', '.join(failed)} failed; fix with `{fix}`")
        return 1
    return code

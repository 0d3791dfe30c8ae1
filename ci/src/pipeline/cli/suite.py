"""`pipeline test`: the repository's whole test suite plus ruff, the import contracts and the
coverage floors, as CI runs it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.cli import console, coverage_floors
from pipeline.errors import UsageError

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


# The Dagger module executed runs whole promotions in sandboxes: it runs after the rest of the
# suite, on its own, so its load never overlaps the suites whose emulated budgets it would skew.
ALONE = "tests/dagger/test_execution.py"
# Debian packages the suite needs, by the command each provides: the Dagger executor's sandboxes
# (bubblewrap), its service networks (iproute2), and jq, which the workflows' scripts use as
# GitHub's runners provide it.
DEBIAN_PACKAGES = {"bwrap": "bubblewrap", "ip": "iproute2", "jq": "jq"}


def ensure_debian_packages() -> None:
    """Install what is missing, as root with apt (CI's machines); elsewhere say what to run."""
    missing = sorted(pkg for command, pkg in DEBIAN_PACKAGES.items() if not shutil.which(command))
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise UsageError(
            f"the test suite needs {', '.join(missing)}; install them "
            f"(`sudo apt-get install {' '.join(missing)}`) and run it again"
        )
    console.err.print(f"[bold]▶ apt-get install {' '.join(missing)}[/]")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
    for command in (["apt-get", "update", "-qq"], install):
        if subprocess.run(command, check=False).returncode != 0:
            raise UsageError(f"`{' '.join(command)}` failed; install {', '.join(missing)} by hand")


def run(repo: Path, pytest_args: list[str]) -> int:
    """Lint first (fast), then pytest, then the coverage floors of a whole-suite run."""
    if not pytest_args or any("dagger" in arg for arg in pytest_args):
        ensure_debian_packages()
    lint = {
        "ruff check": [sys.executable, "-m", "ruff", "check", "."],
        "ruff format --check": [sys.executable, "-m", "ruff", "format", "--check", "."],
        # The package layering rule: the contracts in pyproject.toml, [tool.importlinter].
        "lint-imports": [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
    }
    failed = []
    for name, command in lint.items():
        console.err.print(f"[bold]▶ {name}[/]")
        if subprocess.run(command, cwd=repo, check=False).returncode != 0:
            failed.append(name)
    # Only the whole suite is held to the coverage floors: a selection cannot meet them.
    whole = not pytest_args
    floors = coverage_floors.floors(repo) if whole else {}
    env = coverage_floors.environment(repo) if whole else None
    runs = {"pytest": [*parallel_args(pytest_args), *pytest_args]}
    if whole:
        runs = {
            "pytest": [*parallel_args([]), "--ignore", ALONE,
                       *coverage_floors.pytest_args(append=False)],
            f"pytest {ALONE} (the Dagger module executed, alone)": [
                "-p", "no:xdist", ALONE, *coverage_floors.pytest_args(append=True)],
        }  # fmt: skip
    codes = []
    for name, args in runs.items():
        console.err.print(f"[bold]▶ {name}[/]")
        command = [sys.executable, "-m", "pytest", *args]
        codes.append(subprocess.run(command, cwd=repo, env=env, check=False).returncode)
    code = next((c for c in codes if c != 0), 0)
    short = coverage_floors.check(repo, env, floors) if env is not None else []
    if short:
        failed.append("coverage")
    if failed:
        fixes = {
            "ruff check": "`.venv/bin/ruff check --fix .`",
            "ruff format --check": "`.venv/bin/ruff format .`",
            "lint-imports": "the import its report names (README, 'Architecture')",
            "coverage": coverage_floors.fix(short),
        }
        console.error(f"{', '.join(failed)} failed; fix with {'; '.join(fixes[n] for n in failed)}")
        return 1
    return code

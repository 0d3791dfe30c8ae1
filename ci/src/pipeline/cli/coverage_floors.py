"""The coverage floors `pipeline test` holds the whole suite to, one per directory
(`[tool.newsflow.coverage] floors` in pyproject.toml). pytest-cov measures, in every xdist worker
and every Python subprocess the tests start (`[tool.coverage.run] patch`); coverage.py's own
report decides each floor, so the figure printed is the figure judged."""

import os
import subprocess
import sys
from pathlib import Path

from pipeline.cli import console
from pipeline.errors import UsageError
from pipeline.state import project

# Under .pipeline/, which git ignores; cleared before each whole-suite run.
DATA_DIR = Path(".pipeline") / "coverage"
SETTING = "pyproject.toml [tool.newsflow.coverage] floors"


def floors(repo: Path) -> dict[str, float]:
    """Each measured directory and the lowest share of its lines the suite may leave run."""
    given = project.settings(repo).get("coverage", {}).get("floors")
    if not isinstance(given, dict) or not given:
        raise UsageError(f"{SETTING} is missing; give each measured directory a percentage")
    for directory, floor in given.items():
        if not (repo / directory).is_dir():
            raise UsageError(f"{SETTING} names {directory!r}, which is not a directory here")
        if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 < floor <= 100:
            raise UsageError(
                f"{SETTING}: {directory!r} = {floor!r} is not a percentage in (0, 100]"
            )
    return {directory: float(floor) for directory, floor in given.items()}


def environment(repo: Path) -> dict[str, str]:
    """An environment whose processes all write their data under one fresh directory (an
    absolute path, since the tests run the CLI from clones in other directories)."""
    data = repo / DATA_DIR
    if data.is_dir():
        for old in data.iterdir():
            old.unlink()
    data.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "COVERAGE_FILE": str(data / "data")}


def pytest_args(*, append: bool) -> list[str]:
    """Measure, print nothing (the floors print the figures); `append` keeps an earlier run's
    data, for the suite's second pytest run."""
    return ["--cov", "--cov-report=", *(["--cov-append"] if append else [])]


def check(repo: Path, env: dict[str, str], wanted: dict[str, float]) -> list[str]:
    """Report each directory's coverage against its floor; the directories that fell short."""
    console.err.print("[bold]▶ coverage floors[/]")
    short = []
    for directory, floor in wanted.items():
        command = [sys.executable, "-m", "coverage", "report", f"--include={directory}/*",
                   "--format=total", "--precision=1", f"--fail-under={floor}"]  # fmt: skip
        done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True,
                              check=False)  # fmt: skip
        if done.returncode not in (0, 2):  # 2: under the floor; anything else: no figure
            console.error(f"coverage of {directory}/ could not be reported: {done.stderr.strip()}")
            short.append(directory)
            continue
        figure = done.stdout.split("\n", 1)[0].strip()  # then coverage's own failure line
        console.err.print(f"coverage {directory}/: {figure}% (floor {floor:g}%)")
        if done.returncode == 2:
            short.append(directory)
    return short


def fix(short: list[str]) -> str:
    """What to do about the directories that fell short."""
    include = ",".join(f"{directory}/*" for directory in short)
    return (
        f"tests for the lines `.venv/bin/coverage report --data-file={DATA_DIR / 'data'} "
        f"--include='{include}' --skip-covered` lists, or a lower floor in {SETTING} with the "
        "reason"
    )

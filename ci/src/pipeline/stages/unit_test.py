"""The unit-test step: the Lambdas' unit suite against a moto server the suite starts itself.

A pass is remembered by the hash of everything the suite reads, so an unchanged tree is not
tested twice (the same inputs would give the same result)."""

import subprocess
import sys
from pathlib import Path

from pipeline.errors import StageFailedError
from pipeline.state.content_hash import tree_hash
from pipeline.state.stage_log import StageLog

INPUTS = (
    "lambdas",
    "tests/unit",
    "tests/conftest.py",
    "fixtures/newsapi",
    "ci/src/pipeline",
    "pyproject.toml",
    "uv.lock",
)


def run(repo: Path, state: Path, log: StageLog, *, use_cache: bool = True) -> None:
    inputs = tree_hash(repo, INPUTS)
    marker = state / "cache" / "unit-test" / inputs
    if use_cache and marker.is_file():
        log.detail = f"cached pass for inputs {inputs[:12]} ({marker.read_text().strip()})"
        return
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/unit",
            "-m",
            "unit",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    log.write(done.stdout + done.stderr)
    last = done.stdout.strip().splitlines()[-1].strip("= ") if done.stdout.strip() else "no output"
    if done.returncode != 0:
        raise StageFailedError(
            f"unit tests failed ({last}); nothing was applied or deployed. "
            "Reproduce with `./pipeline unit-test`"
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(last + "\n")
    log.detail = last

"""The unit-test step: the Lambdas' unit suite against a moto server the suite starts itself."""

import subprocess
import sys
from pathlib import Path

from pipeline.errors import StageFailedError
from pipeline.stages import StageLog


def run(repo: Path, log: StageLog) -> None:
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
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "no output"
    if done.returncode != 0:
        raise StageFailedError(
            f"unit tests failed ({last.strip('= ')}); nothing was built or deployed. "
            "Reproduce with `./pipeline unit-test`"
        )
    log.detail = last.strip("= ")

"""The unit-test step: the Lambdas' unit suite against a moto server the suite starts itself.

A pass is remembered per test module, by the hash of everything that module reads: the shared
harness, and the Lambda packages it names. A change to one function re-runs only the modules
that can see it (the same inputs would give the same result); an unchanged tree runs none."""

import os
import re
import subprocess
from pathlib import Path

from pipeline.errors import StageFailedError
from pipeline.stages.suites import pytest_command, pytest_environ
from pipeline.state.content_hash import tree_hash
from pipeline.state.stage_log import StageLog

SUITE = "tests/unit"
# What every module reads: the harness, the fixtures, the pipeline's fake NewsAPI, the locks.
SHARED = ("tests/__init__.py", "tests/conftest.py", "tests/leaks.py", "fixtures/newsapi",
          "ci/src/pipeline", "pyproject.toml", "uv.lock")  # fmt: skip
# A Lambda package is named in a test (an import, or a string that loads it) as news_<name>.
PACKAGE = re.compile(r"\bnews_([a-z]+)\b")
# Each worker has its own moto server, and a test mostly waits on it: two workers take the
# suite from 39 s to 23 s on two cores. Tests are handed out one at a time, since two bulk
# scenarios are half the work and sit in different modules.
WORKERS = max(2, min(4, os.cpu_count() or 1))
# An emulator the suite runs against instead of its own servers. Only this variable chooses it,
# never `--emulator-endpoint`: the suite resets the account between tests, which would wipe the
# environments a promotion's emulator holds. One account, so one worker; and a pass against one
# emulator is not a pass against another, so none is remembered.
UNIT_EMULATOR_ENV = "PIPELINE_UNIT_EMULATOR"


def modules(repo: Path) -> list[str]:
    """The suite's test modules, as pytest collects them."""
    return sorted(p.relative_to(repo).as_posix() for p in (repo / SUITE).glob("test_*.py"))


def _lambdas(repo: Path, files: list[Path]) -> set[str]:
    named = {name for path in files for name in PACKAGE.findall(path.read_text())}
    return {f"lambdas/{name}" for name in named if (repo / "lambdas" / name).is_dir()}


def module_inputs(repo: Path) -> dict[str, tuple[str, ...]]:
    """Each test module and the paths its result depends on."""
    tests = repo / SUITE
    helpers = sorted(p for p in tests.glob("*.py") if not p.name.startswith("test_"))
    shared = {*SHARED, *(p.relative_to(repo).as_posix() for p in helpers)}
    shared |= _lambdas(repo, helpers)
    return {
        module: tuple(sorted(shared | {module} | _lambdas(repo, [repo / module])))
        for module in modules(repo)
    }


def run(repo: Path, state: Path, log: StageLog, *, use_cache: bool = True) -> None:
    external = os.environ.get(UNIT_EMULATOR_ENV, "").rstrip("/")
    use_cache = use_cache and not external
    cache = state / "cache" / "unit-test"
    keys = {module: tree_hash(repo, paths) for module, paths in module_inputs(repo).items()}
    due = [m for m, key in keys.items() if not (use_cache and (cache / key).is_file())]
    if not due:
        combined = tree_hash(repo, [], seed="".join(sorted(keys.values())))
        log.detail = f"cached pass for all {len(keys)} test modules (inputs {combined[:12]})"
        return
    parallel = [] if external else ["-p", "xdist", "-n", str(WORKERS), "--dist", "load"]
    done = subprocess.run(
        pytest_command(*due, "-m", "unit", "-q", *parallel),
        cwd=repo, env=pytest_environ(dict(os.environ)), capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    log.write(done.stdout + done.stderr)
    last = done.stdout.strip().splitlines()[-1].strip("= ") if done.stdout.strip() else "no output"
    if done.returncode != 0:
        raise StageFailedError(
            f"unit tests failed ({last}); nothing was applied or deployed. "
            "Reproduce with `./pipeline unit-test`"
        )
    if external:
        log.detail = f"{last}, against {external}"
        return
    cache.mkdir(parents=True, exist_ok=True)
    for module in due:
        (cache / keys[module]).write_text(f"{module}: {last}\n")
    cached = len(keys) - len(due)
    log.detail = last + (
        f"; {cached} of {len(keys)} test modules unchanged, not re-run" if cached else ""
    )

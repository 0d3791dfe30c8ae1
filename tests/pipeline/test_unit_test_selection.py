"""The unit-test stage re-runs only the test modules whose inputs changed: each module's pass is
keyed by the shared harness and the Lambda packages that module names."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.adapters import emulator
from pipeline.errors import StageFailedError
from pipeline.stages import unit_test
from pipeline.state.content_hash import tree_hash
from pipeline.state.stage_log import StageLog
from tests.conftest import REPO

pytestmark = pytest.mark.pipeline
COPIED = ("lambdas", "tests", "fixtures", "ci/src/pipeline", "pyproject.toml", "uv.lock")
PROBE = "lambdas/canary/news_canary/probe.py"


def collected(repo: Path, module: str) -> int:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "unit",
                           "-p", "no:cacheprovider", module],
                          cwd=repo, capture_output=True, text=True, check=True)  # fmt: skip
    return sum("::" in line for line in done.stdout.splitlines())


def lambdas_of(inputs: tuple[str, ...]) -> set[str]:
    return {path for path in inputs if path.startswith("lambdas/")}


def test_each_module_depends_on_the_packages_it_names() -> None:
    inputs = unit_test.module_inputs(REPO)
    assert set(inputs) == {f"tests/unit/test_{fn}.py"
                           for fn in ("analysis", "canary", "dashboard", "ingestion")}  # fmt: skip
    assert lambdas_of(inputs["tests/unit/test_canary.py"]) == {"lambdas/canary", "lambdas/common"}
    # The analysis tests read what ingestion stores and what the dashboard serves.
    assert lambdas_of(inputs["tests/unit/test_analysis.py"]) == {
        "lambdas/analysis", "lambdas/common", "lambdas/dashboard", "lambdas/ingestion"
    }  # fmt: skip
    for paths in inputs.values():
        assert {"tests/unit/conftest.py", "uv.lock", "ci/src/pipeline"} <= set(paths)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    for relative in COPIED:
        source = REPO / relative
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
            shutil.copytree(source, copy / relative, ignore=ignore)
        else:
            (copy / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / relative)
    # A work tree, as the stage always runs in: the leak scan reads its sources (the emulator's
    # dummy keys among them) as source, not as output.
    subprocess.run(["git", "init", "-q", str(copy)], check=True)
    return copy


def test_a_change_to_one_function_reruns_only_the_modules_that_name_it(
    repo: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    cache = state / "cache" / "unit-test"
    cache.mkdir(parents=True)
    for module, paths in unit_test.module_inputs(repo).items():  # as if the whole suite passed
        (cache / tree_hash(repo, paths)).write_text(f"{module}: primed\n")
    log = StageLog()
    unit_test.run(repo, state, log)
    assert log.detail.startswith("cached pass for all 4 test modules")
    assert not log.lines  # nothing ran

    probe = repo / PROBE
    probe.write_text(probe.read_text() + "\n# a change to the canary alone\n")
    log = StageLog()
    unit_test.run(repo, state, log)
    assert log.detail.endswith("; 3 of 4 test modules unchanged, not re-run"), log.detail
    assert log.detail.startswith(f"{collected(repo, 'tests/unit/test_canary.py')} passed")
    assert len(list(cache.iterdir())) == 5  # the canary module's new pass joins the four

    probe.write_text(probe.read_text().replace("def probe(", "def _renamed_probe(", 1))
    with pytest.raises(StageFailedError, match="unit tests failed"):
        unit_test.run(repo, state, StageLog())
    assert len(list(cache.iterdir())) == 5  # a failure records no pass


def test_given_an_emulator_the_suite_runs_against_it_and_remembers_nothing(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PIPELINE_UNIT_EMULATOR=URL ./pipeline unit-test: the whole suite runs against that emulator
    (whose own log shows the suite's calls, where its own servers would leave it two), and a
    pass there is not taken for a pass against another emulator: the primed cache is ignored
    and nothing is added to it."""
    given = emulator.start(tmp_path / "given.log")
    try:
        state = tmp_path / "state"
        cache = state / "cache" / "unit-test"
        cache.mkdir(parents=True)
        for module, paths in unit_test.module_inputs(repo).items():  # as if all had passed
            (cache / tree_hash(repo, paths)).write_text(f"{module}: primed\n")
        monkeypatch.setenv(unit_test.UNIT_EMULATOR_ENV, given.endpoint)
        log = StageLog()
        unit_test.run(repo, state, log)
        assert " passed" in log.detail, log.detail
        assert log.detail.endswith(f", against {given.endpoint}"), log.detail
        served = (tmp_path / "given.log").read_text().count("HTTP/1.1")
        assert served > 500, served
        assert len(list(cache.iterdir())) == len(unit_test.module_inputs(repo))  # none added

        # The emulator a promotion targets (--emulator-endpoint) is never the suite's: its
        # resets would wipe the environments deployed there.
        monkeypatch.delenv(unit_test.UNIT_EMULATOR_ENV)
        monkeypatch.setenv(emulator.ENDPOINT_ENV, given.endpoint)
        unit_test.run(repo, state, StageLog(), use_cache=False)
        assert (tmp_path / "given.log").read_text().count("HTTP/1.1") == served
    finally:
        given.stop()

"""The coverage floors: coverage.py's own figure decides each one, and a floor the settings
cannot mean is refused before the suite runs."""

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import coverage_floors
from pipeline.errors import UsageError

# Four statements; calling half() runs three of them (75%).
MODULE = "def half(x):\n    if x:\n        return 1\n    return 2\n"


def project(tmp_path: Path, floors: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.newsflow.coverage]\nfloors = {floors}\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "half.py").write_text(MODULE)
    return tmp_path


def measured(repo: Path) -> dict[str, str]:
    """Run half(1) under coverage, writing where `pipeline test` would (and not where the
    suite measuring this test would: its subprocess setting is dropped)."""
    env = coverage_floors.environment(repo)
    env.pop("COVERAGE_PROCESS_CONFIG", None)
    (repo / "main.py").write_text("from pkg.half import half\n\nhalf(1)\n")
    run = [sys.executable, "-m", "coverage", "run", "--source=pkg", "main.py"]
    subprocess.run(run, cwd=repo, env=env, check=True)
    return env


@pytest.mark.parametrize(("floor", "short"), [(75, []), (75.1, ["pkg"])])
def test_the_figure_coverage_reports_decides_the_floor(
    tmp_path: Path, floor: float, short: list[str], capsys: pytest.CaptureFixture
) -> None:
    repo = project(tmp_path, f'{{ "pkg" = {floor} }}')
    env = measured(repo)
    assert coverage_floors.check(repo, env, coverage_floors.floors(repo)) == short
    assert f"coverage pkg/: 75.0% (floor {floor:g}%)" in capsys.readouterr().err


def test_no_data_is_a_failure_not_a_pass(tmp_path: Path) -> None:
    repo = project(tmp_path, '{ "pkg" = 10 }')
    env = coverage_floors.environment(repo)
    assert coverage_floors.check(repo, env, {"pkg": 10.0}) == ["pkg"]


def test_each_run_starts_from_no_data(tmp_path: Path) -> None:
    repo = project(tmp_path, '{ "pkg" = 10 }')
    measured(repo)
    coverage_floors.environment(repo)
    assert list((repo / coverage_floors.DATA_DIR).iterdir()) == []


@pytest.mark.parametrize(
    ("floors", "named"),
    [
        ("{}", "is missing"),
        ('{ "nowhere" = 80 }', "'nowhere', which is not a directory"),
        ('{ "pkg" = 0 }', "'pkg' = 0 is not a percentage"),
        ('{ "pkg" = 101 }', "'pkg' = 101 is not a percentage"),
        ('{ "pkg" = "80" }', "'pkg' = '80' is not a percentage"),
        ('{ "pkg" = true }', "'pkg' = True is not a percentage"),
    ],
)
def test_a_floor_that_means_nothing_is_refused(tmp_path: Path, floors: str, named: str) -> None:
    with pytest.raises(UsageError, match=f"floors.*{named}"):
        coverage_floors.floors(project(tmp_path, floors))


def test_this_repository_sets_a_floor_for_the_lambdas_and_the_pipeline() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert set(coverage_floors.floors(repo)) == {"lambdas", "ci/src/pipeline"}


def test_the_fix_names_a_command_that_lists_the_missed_lines(tmp_path: Path) -> None:
    repo = project(tmp_path, '{ "pkg" = 90 }')
    env = measured(repo)
    command = coverage_floors.fix(["pkg"]).split("`")[1]
    assert command.startswith(".venv/bin/coverage report")
    args = [sys.executable, "-m", "coverage", *command.split()[1:]]
    listed = subprocess.run([a.replace("'", "") for a in args], cwd=repo, env=env,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "pkg/half.py" in listed and "75%" in listed

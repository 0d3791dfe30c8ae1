"""Fixtures shared by every suite: a real moto server on a free port, owned by the test session."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.adapters import emulator
from pipeline.stages.unit_test import UNIT_EMULATOR_ENV
from tests import leaks

REPO = Path(__file__).resolve().parents[1]
# The access proof's figures (tests/iam), written by the worker that ran it.
ACCESS_SUMMARY = "access-proof.txt"

# tests/verify holds the verify stage's payload: suites of a deployed environment. `promote`'s
# verify stage runs them with NEWSFLOW_* set, and tests/pipeline asserts that they ran and
# passed; collected without a target they would have nothing to test.
collect_ignore = [] if os.environ.get("NEWSFLOW_ENV") else ["verify"]


@pytest.fixture(scope="session")
def moto_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[emulator.Emulator | emulator.External]:
    """The suite's own moto server, or the one PIPELINE_UNIT_EMULATOR names (unit-test stage)."""
    given = os.environ.get(UNIT_EMULATOR_ENV)
    if given:
        yield emulator.External(given)
        return
    server = emulator.start(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def aws_env(moto_server: emulator.Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean emulated account for one test, reached through boto3's standard variables."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_server.endpoint


@pytest.fixture(scope="session", autouse=True)
def step_summary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every CLI run of the session appends its GitHub job summary here (then leak-scanned)."""
    path = tmp_path_factory.getbasetemp() / "github-step-summary.md"
    previous = os.environ.get("GITHUB_STEP_SUMMARY")
    os.environ["GITHUB_STEP_SUMMARY"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("GITHUB_STEP_SUMMARY", None)
    else:
        os.environ["GITHUB_STEP_SUMMARY"] = previous


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The access proof's one line, printed by the controller (workers' directories are inside
    its own)."""
    factory = getattr(terminalreporter.config, "_tmp_path_factory", None)
    if factory is None or hasattr(terminalreporter.config, "workerinput"):
        return
    for found in sorted(Path(factory.getbasetemp()).rglob(ACCESS_SUMMARY)):
        terminalreporter.write_line(f"access proof: {found.read_text().strip()}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session if anything it wrote contains a secret value. With parallel workers,
    the controller scans once after them all: their directories are inside its own."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    # The suites inside a verify stage are scanned by the session that ran that stage.
    inside_verify = bool(os.environ.get("NEWSFLOW_ENV"))
    if factory is None or inside_verify or hasattr(session.config, "workerinput"):
        return
    result = leaks.scan(factory.getbasetemp())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(
            f"secret-leak scan: {result.files} files, {result.bytes / 1e6:.1f} MB, "
            f"{result.secrets} secret values, {len(result.leaks)} leaks"
        )
        for leak in result.leaks:
            reporter.write_line(f"  LEAK {leak}", red=True)
    if result.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

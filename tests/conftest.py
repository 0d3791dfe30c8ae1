"""Fixtures shared by every suite: a real moto server on a free port, owned by the test session."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import emulator
from tests.deployed import App

REPO = Path(__file__).resolve().parents[1]

# The integration and canary suites test a deployed environment. `promote`'s verify stage runs
# them with NEWSFLOW_* set, and tests/pipeline asserts that they ran and passed; collected
# without a target they would have nothing to test.
collect_ignore = [] if os.environ.get("NEWSFLOW_ENV") else ["integration", "canary"]


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulator.Emulator]:
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


@pytest.fixture(scope="session")
def app() -> Iterator[App]:
    """The deployed environment the integration and canary suites run against."""
    deployed = App.from_environment()
    yield deployed
    deployed.close()

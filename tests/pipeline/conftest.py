"""Fixtures of the promotion tests: a clean clone of the repository and the session's deployed
preprod, promoted through the real CLI (tests/runner.py)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.runner import Cli, clone

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="session")
def repo_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean clone of the committed tree, so the sha is never -dirty."""
    return clone(REPO, tmp_path_factory.mktemp("clone") / "repo")


@pytest.fixture(scope="module")
def cli(repo_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """Each test module's own state and emulator, so no module depends on what another did."""
    runner = Cli(repo_clone, tmp_path_factory.mktemp("state"), {})
    yield runner
    runner.stop()


@pytest.fixture(scope="module")
def deployed_preprod(cli: Cli) -> dict:
    """The module's first `promote --env preprod` of the clone; its later tests build on it."""
    code, outcome = cli.json("promote", "--env", "preprod")
    assert code == 0, outcome.get("message", outcome)
    return outcome

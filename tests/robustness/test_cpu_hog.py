"""A prod promotion, canary suite and all, while another job keeps one of this machine's cores
busy: the emulated budgets must mean the same on a loaded machine as on an idle one, or CI turns
a busy neighbour into a false rollback. The hog runs for the whole promotion, at the same
priority as the pipeline, like `stress-ng --cpu 1`."""

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import REPO
from tests.environments import validated_upstream
from tests.runner import Cli, clone

pytestmark = pytest.mark.robustness
APPROVAL = ["--approve", "quinn: promotion under load"]
HOG = "while True:\n    pass\n"


@pytest.fixture
def hog() -> Iterator[subprocess.Popen]:
    """One busy core's worth of CPU, stopped however the test ends."""
    process = subprocess.Popen([sys.executable, "-c", HOG])
    yield process
    process.kill()
    process.wait(timeout=10)


@pytest.fixture
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    base = tmp_path_factory.mktemp("cpu-hog")
    runner = Cli(clone(REPO, base / "repo"), base / "state", {})
    runner.state.mkdir()
    assert runner.run("emulator", "start").returncode == 0
    validated_upstream(runner.repo, runner.state, "preprod", runner.target())
    yield runner
    runner.stop()


def test_a_prod_promotion_passes_with_a_core_busy(cli: Cli, hog: subprocess.Popen) -> None:
    code, outcome = cli.json("promote", "--env", "prod", *APPROVAL)
    assert hog.poll() is None, "the hog stopped before the promotion ended"
    assert code == 0, outcome.get("message", outcome)
    stages = {stage["name"]: stage for stage in outcome["stages"]}
    assert "rollback" not in stages
    for step in ("shift 10%", "shift 100%"):
        # Each traffic step ran the canary suite, /health budget included, under the load.
        assert "canary 5 passed" in stages[step]["detail"], stages[step]  # all but the disruptive

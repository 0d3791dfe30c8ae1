"""The executor, shared by the tests that run the module: one engine per test module (its exec
cache and cache volumes live as long as it), one clone of this repository as the source."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.adapters import terraform
from tests.dagger.executor.calls import Dagger
from tests.dagger.executor.session import Engine, install, load_schema, uninstall
from tests.runner import clone

REPO = Path(__file__).resolve().parents[2]
# Stand-in credentials: the executor runs a container holding secrets with no network, so
# nothing ever reaches AWS with them.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXECUTORTEST0001",
    "AWS_SECRET_ACCESS_KEY": "executor/test/secret-value-0001",
}


def host_uv_cache() -> Path:
    uv = os.environ.get("PIPELINE_UV", "uv")
    return Path(subprocess.run([uv, "cache", "dir"], capture_output=True, text=True,
                               check=True).stdout.strip())  # fmt: skip


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    running = Engine(
        load_schema(),
        tmp_path_factory.mktemp("engine"),
        terraform_mirror=terraform.find_mirror(),
        seeded_caches={"newsflow-uv": host_uv_cache()},
    )
    install(running)
    yield running
    running.shutdown()
    uninstall()
    assert running.unsupported == [], running.unsupported
    # A service network resolves only its services (from /etc/hosts); any name its resolver
    # was asked is a call to somewhere other than this machine.
    asked = running.looked_up.read_text().split() if running.looked_up.exists() else []
    assert asked == [], f"containers looked up outside names: {sorted(set(asked))}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `DefaultPath("/")` uploads starts from the module's git root; a clone is CI's."""
    return clone(REPO, tmp_path_factory.mktemp("source") / "newsflow")


@pytest.fixture(scope="module")
def dagger_cli(engine: Engine, repo: Path) -> Dagger:
    return Dagger(engine, repo, env=dict(CREDENTIALS))

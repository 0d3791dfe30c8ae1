"""The emulated prerequisites: the emulator is the truth for its secrets, so a fresh state
directory (each Dagger call has one) adopts the keys the emulator already holds."""

import json
from pathlib import Path

import pytest

from pipeline.adapters import emulator
from pipeline.adapters.target import DEFAULT_REGION, Target
from pipeline.adapters.terraform import backend
from tests.conftest import REPO

pytestmark = pytest.mark.pipeline


def keys(state: Path, env: str) -> dict[str, str]:
    return json.loads((state / "secrets" / f"{env}.json").read_text())


def test_a_fresh_state_adopts_the_emulator_s_keys(
    moto_server: emulator.Emulator, tmp_path: Path
) -> None:
    moto_server.reset()
    tgt = Target("emulated", DEFAULT_REGION, moto_server.endpoint)
    backend.ensure(REPO, tmp_path / "first", "preprod", tgt)
    backend.ensure(REPO, tmp_path / "second", "preprod", tgt)
    first, second = keys(tmp_path / "first", "preprod"), keys(tmp_path / "second", "preprod")
    assert first == second
    held = tgt.client("secretsmanager").get_secret_value(SecretId="preprod-dashboard-api-key")
    assert held["SecretString"] == second["dashboard"]
    assert (tmp_path / "second" / "secrets" / "preprod.json").stat().st_mode & 0o077 == 0


def test_verify_s_keys_are_the_emulator_s_in_a_fresh_state(
    moto_server: emulator.Emulator, tmp_path: Path
) -> None:
    """`verify` in a new Dagger call (a fresh /state) must serve the fake NewsAPI with the key
    the deployed ingestion reads, not a new random one."""
    moto_server.reset()
    tgt = Target("emulated", DEFAULT_REGION, moto_server.endpoint)
    backend.ensure(REPO, tmp_path / "deploying", "preprod", tgt)
    held = tgt.client("secretsmanager").get_secret_value(SecretId="preprod-newsapi-key")
    keys = backend.emulated_keys(REPO, tmp_path / "verifying", "preprod", tgt)
    assert keys["newsapi"] == held["SecretString"]

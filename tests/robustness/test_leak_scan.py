"""The secret-leak scan itself: it must find a planted secret, and only where it is."""

import json
import tempfile
from pathlib import Path

import pytest

from tests import leaks

pytestmark = pytest.mark.robustness


def test_a_planted_secret_is_found_and_clean_files_pass() -> None:
    # Outside the session's temporary directory, which the session's own scan reads.
    with tempfile.TemporaryDirectory() as tmp:
        check(Path(tmp))


def check(tmp_path: Path) -> None:
    secret = "k" * 20 + "-dashboard"
    (tmp_path / "state" / "secrets").mkdir(parents=True)
    (tmp_path / "state" / "secrets" / "preprod.json").write_text(json.dumps({"dashboard": secret}))
    (tmp_path / "state" / "runs" / "1").mkdir(parents=True)
    (tmp_path / "state" / "runs" / "1" / "run.json").write_text('{"stages": []}')
    clean = leaks.scan(tmp_path)
    # the planted key, and the emulator's administrator and AWS-service keys
    assert clean.leaks == [] and clean.secrets == 3 and clean.files == 1

    (tmp_path / "state" / "emulator.log").write_text(f"GET /health X-API-Key: {secret}\n")
    dirty = leaks.scan(tmp_path)
    assert dirty.leaks == ["state/emulator.log contains a secret (kkkk…)"]

    # Source in a clone is not output (it defines the emulator's dummy key); its state is.
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / "target.py").write_text(f"KEY = {secret!r}\n")
    (clone / ".pipeline").mkdir()
    (clone / ".pipeline" / "run.log").write_text(secret)
    assert len(leaks.scan(tmp_path).leaks) == 2

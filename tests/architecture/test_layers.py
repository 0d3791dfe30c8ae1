"""The dependency rule holds, and the contracts that state it catch a break (README,
"Architecture")."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(source: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the repository's contracts over the `pipeline` package under `source`."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(REPO / "pyproject.toml")],
        cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_the_package_keeps_its_contracts() -> None:
    done = lint_imports(REPO / "ci" / "src")
    assert done.returncode == 0, done.stdout
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("state/ledger.py", "from pipeline.cli import console", "Layers"),
        ("stages/deploy.py", "from pipeline.promotion import rollback", "Layers"),
        ("gate/policy.py", "from pipeline.stages import deploy", "Layers"),
        ("stages/traffic.py", "from pipeline.runtime import alarms", "emulated runtime"),
        ("errors.py", "from pipeline.state import project", "foundations"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(module: str, line: str, broken: str) -> None:
    # Outside the session's temporary directory: the copy holds the emulator's dummy keys, which
    # the secret-leak scan would rightly report there.
    with tempfile.TemporaryDirectory(prefix="pipeline-contracts-") as scratch:
        copy = Path(scratch)
        shutil.copytree(REPO / "ci" / "src" / "pipeline", copy / "pipeline")
        with (copy / "pipeline" / module).open("a") as handle:
            handle.write(f"\n{line}  # noqa\n")
        done = lint_imports(copy)
    assert done.returncode == 1, done.stdout
    assert "1 broken" in done.stdout
    report = done.stdout[done.stdout.index("Broken contracts") :]
    assert broken in report

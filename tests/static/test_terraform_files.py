"""Terraform conventions checked offline: format, validity, variables and environment names."""

import re
import subprocess
from pathlib import Path

import pytest

from pipeline.adapters import terraform
from pipeline.adapters.target import DEFAULT_REGION, Target
from pipeline.state.stage_log import StageLog
from tests.conftest import REPO

pytestmark = pytest.mark.static
TF = REPO / "terraform"
BLOCK = re.compile(r'^variable "(\w+)" \{(.*?)^\}', re.MULTILINE | re.DOTALL)


def _tf_files() -> list[Path]:
    return sorted(TF.rglob("*.tf"))


def test_fmt_is_clean() -> None:
    done = subprocess.run(
        [terraform.binary(), "fmt", "-check", "-recursive", "-diff", str(TF)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_validate(tmp_path: Path) -> None:
    workspace = terraform.Workspace.prepare(
        REPO, tmp_path, "preprod", Target("aws", DEFAULT_REGION)
    )
    log = StageLog()
    workspace.init(log, backend=False)
    workspace.run(["validate", "-no-color"], log)
    assert any("The configuration is valid" in line for line in log.lines)


def test_every_variable_has_description_and_type() -> None:
    found = 0
    for path in _tf_files():
        for name, body in BLOCK.findall(path.read_text()):
            found += 1
            assert re.search(r"^\s*description\s*=", body, re.M), (
                f"{path}: {name} lacks description"
            )
            assert re.search(r"^\s*type\s*=", body, re.M), f"{path}: {name} lacks type"
    assert found >= 30


def test_environment_variable_is_validated() -> None:
    body = dict(BLOCK.findall((TF / "variables.tf").read_text()))["environment"]
    assert "validation" in body


def test_no_environment_literal_outside_tfvars_and_backends() -> None:
    literal = re.compile(r"\b(preprod|prod)\b")
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in _tf_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []


def test_provider_is_constrained() -> None:
    for path in TF.rglob("versions.tf"):
        assert 'version = "~> 5.100"' in path.read_text(), path


def test_environments_differ_only_in_values() -> None:
    def keys(env: str) -> set[str]:
        text = (TF / "environments" / f"{env}.tfvars").read_text()
        return set(re.findall(r"^(\w+)\s*=", text, re.M))

    assert keys("preprod") == keys("prod")
    backends = [(TF / "backends" / f"{env}.hcl").read_text() for env in ("preprod", "prod")]
    assert backends[0].replace("preprod", "ENV") == backends[1].replace("prod", "ENV")


@pytest.mark.parametrize("env", ["preprod", "prod"])
def test_every_environment_alerts_a_person_and_has_a_budget(env: str) -> None:
    """An alert with no subscriber reaches nobody, and a budget of 0 is no budget. The webhook
    is a secret, so a tfvars file must never carry it."""
    values = dict(re.findall(r'^(\w+)\s*=\s*"?([^"\n]*)"?', (TF / "environments" / f"{env}.tfvars")
                             .read_text(), re.M))  # fmt: skip
    assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", values.get("alert_email", ""))
    assert float(values.get("monthly_budget_usd", "0")) > 0
    assert "alert_webhook_url" not in values
    body = dict(BLOCK.findall((TF / "variables.tf").read_text()))["alert_webhook_url"]
    assert "sensitive   = true" in body and "validation" in body

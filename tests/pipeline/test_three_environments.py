"""Environments come from the tfvars files and promotion_order, any number of them: a copy of
the repository with a staging environment promotes one change preprod → staging → prod, and
each environment takes only what the one before it validated."""

import json
import re
from pathlib import Path

import pytest

from tests.runner import Cli, clone, commit

pytestmark = pytest.mark.pipeline
FIX = Path(__file__).resolve().parents[2] / "fixtures" / "github"
ORDER = ("preprod", "staging", "prod")


def set_tfvar(text: str, name: str, value: str) -> str:
    changed, count = re.subn(rf"(?m)^{name}\s*=.*$", f"{name} = {value}", text)
    assert count == 1, name
    return changed


def with_staging(repo: Path) -> None:
    """staging between preprod and prod: prod-like, unprotected, taking preprod's bytes."""
    envs = repo / "terraform" / "environments"
    prod = (envs / "prod.tfvars").read_text()
    staging = prod
    for name, value in {
        "environment": '"staging"',
        "github_environments": '["staging"]',
        "isolated_from": '["preprod", "prod"]',
        "promotes_from": '"preprod"',
    }.items():
        staging = set_tfvar(staging, name, value)
    commit(repo, "terraform/environments/staging.tfvars", staging)
    backend = (repo / "terraform" / "backends" / "prod.hcl").read_text()
    commit(repo, "terraform/backends/staging.hcl", backend.replace("prod/", "staging/"))
    prod = set_tfvar(prod, "isolated_from", '["preprod", "staging"]')
    commit(
        repo, "terraform/environments/prod.tfvars", set_tfvar(prod, "promotes_from", '"staging"')
    )
    preprod = (envs / "preprod.tfvars").read_text()
    commit(repo, "terraform/environments/preprod.tfvars",
           set_tfvar(preprod, "isolated_from", '["staging", "prod"]'))  # fmt: skip
    settings = (repo / "pyproject.toml").read_text()
    order = 'promotion_order = ["preprod", "staging", "prod"]'
    commit(repo, "pyproject.toml", settings.replace('promotion_order = ["preprod", "prod"]', order))


@pytest.fixture(scope="module")
def three(repo_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    repo = clone(repo_clone, tmp_path_factory.mktemp("three") / "repo")
    with_staging(repo)
    runner = Cli(repo, tmp_path_factory.mktemp("three-state"), {})
    yield runner
    runner.stop()


def test_the_gate_decides_for_each_environment_of_the_order(three: Cli) -> None:
    done = three.run("gate", "--event", str(FIX / "events" / "human.json"),
                     "--commits", str(FIX / "commits" / "human.json"),
                     "--at", "2026-11-18T12:00:00+00:00")  # fmt: skip
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert list(decision)[:4] == [*ORDER, "environment"]
    assert [decision[env] for env in ORDER] == ["auto", "auto", "manual"]


def test_a_change_goes_through_staging_to_prod(three: Cli) -> None:
    approval = ("--approve", "alice: three environments")
    code, early = three.json("promote", "--env", "prod", *approval)
    assert code == 3, early
    assert "is not validated in staging" in early["message"]

    code, preprod = three.json("promote", "--env", "preprod")
    assert code == 0, preprod["message"]
    # prod takes only what staging validated, not what preprod did.
    code, skipped = three.json("promote", "--env", "prod", *approval)
    assert code == 3 and "is not validated in staging" in skipped["message"], skipped

    code, staging = three.json("promote", "--env", "staging")
    assert code == 0, staging["message"]
    assert "100% live" in staging["message"]
    code, prod = three.json("promote", "--env", "prod", *approval)
    assert code == 0, prod["message"]

    sha = preprod["sha"]
    assert staging["sha"] == prod["sha"] == sha
    digests = {env: three.ledger(env).validations(sha)[-1]["digests"] for env in ORDER}
    assert digests["preprod"] == digests["staging"] == digests["prod"]
    stages = {env: {s["name"]: s for s in outcome["stages"]}
              for env, outcome in (("staging", staging), ("prod", prod))}  # fmt: skip
    assert stages["staging"]["preconditions"]["detail"].startswith("validated in preprod")
    assert stages["prod"]["preconditions"]["detail"].startswith("validated in staging")
    assert "from staging" in stages["prod"]["copy"]["detail"]
    assert "gate" in stages["staging"] and stages["staging"]["gate"]["detail"] == "auto"

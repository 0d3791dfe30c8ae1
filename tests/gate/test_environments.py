"""The gate decides for the environments promotion_order names, however many, with each row's
levels taken by name, else by `first` or `protected`; a bad setting names itself."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from pipeline import gate
from pipeline.errors import UsageError
from pipeline.gate import change, inputs
from pipeline.state import project
from pipeline.state.project import Environments
from tests.conftest import REPO

pytestmark = pytest.mark.pipeline
THREE = Environments(("preprod", "staging", "prod"), frozenset({"prod"}))
OPEN_HOURS = datetime(2026, 11, 18, 12, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 21, 12, tzinfo=UTC)
FIX = REPO / "fixtures" / "github"


def policy_file(tmp_path: Path, **rows: dict[str, str]) -> Path:
    policy = yaml.safe_load((REPO / "ci" / "policy.yaml").read_text())
    policy["decisions"].update(rows)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def human(tmp_path: Path, envs: Environments, at: datetime = OPEN_HOURS, **rows) -> gate.Decision:
    event = change.load_json(FIX / "events" / "human.json", "event")
    commits = change.parse_commits(change.load_json(FIX / "commits" / "human.json", "commits"))
    policy = gate.load_policy(policy_file(tmp_path, **rows), envs)
    return gate.decide(change.read(event, commits, None), policy, at, envs)


def test_an_unnamed_environment_takes_first_and_a_protected_one_protected(tmp_path: Path) -> None:
    decision = human(tmp_path, THREE)
    assert decision.levels == {"preprod": "auto", "staging": "auto", "prod": "manual"}
    assert list(decision.to_json())[:4] == ["preprod", "staging", "prod", "environment"]
    assert decision.environment == "production"


def test_a_row_may_name_an_environment(tmp_path: Path) -> None:
    decision = human(tmp_path, THREE, human={"first": "auto", "staging": "manual",
                                             "protected": "block"})  # fmt: skip
    assert decision.levels == {"preprod": "auto", "staging": "manual", "prod": "block"}
    assert "policy row human: preprod auto, staging manual, prod block" in decision.reasons


def test_a_freeze_blocks_only_the_protected_environments(tmp_path: Path) -> None:
    both = Environments(THREE.order, frozenset({"staging", "prod"}))
    decision = human(tmp_path, both, SATURDAY)
    assert decision.levels == {"preprod": "auto", "staging": "block", "prod": "block"}
    assert any(r.startswith("staging and prod are frozen: Sat") for r in decision.reasons)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"first": "auto", "stagin": "manual", "protected": "manual"},
         "decisions.human names 'stagin', which is not in promotion_order"),
        ({"protected": "manual"},
         "decisions.human gives no level for preprod; add `preprod:` or `first:`"),
        ({"first": "sometimes", "protected": "manual"}, "decisions.human.first is 'sometimes'"),
    ],
)  # fmt: skip
def test_a_row_that_cannot_decide_every_environment_is_refused(
    tmp_path: Path, row: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match="^policy .*" + message.replace("(", r"\(")):
        gate.load_policy(policy_file(tmp_path, human=row), THREE)


def test_a_local_run_needs_an_approval_only_where_protected() -> None:
    decision = inputs.without_event(THREE)
    assert decision.levels == {"preprod": "auto", "staging": "auto", "prod": "manual"}
    assert decision.for_env("staging") == "auto"
    with pytest.raises(UsageError, match="the gate decided for preprod, staging, prod, not 'qa'"):
        decision.for_env("qa")


def copy_settings(tmp_path: Path, settings: str, tfvars: tuple[str, ...] = ()) -> Path:
    (tmp_path / "terraform").mkdir()
    shutil.copytree(REPO / "terraform" / "environments", tmp_path / "terraform" / "environments")
    for name in tfvars:
        shutil.copy(REPO / "terraform" / "environments" / "preprod.tfvars",
                    tmp_path / "terraform" / "environments" / f"{name}.tfvars")  # fmt: skip
    (tmp_path / "pyproject.toml").write_text(f"[tool.newsflow]\n{settings}\n")
    return tmp_path


def test_the_repository_s_order_is_read_from_its_settings() -> None:
    envs = project.promotion_order(REPO)
    assert envs.order == ("preprod", "prod") and envs.protected == {"prod"}
    assert (envs.first, envs.last, envs.predecessor("prod"), envs.predecessor("preprod")) == (
        "preprod", "prod", "preprod", None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('promotion_order = ["preprod", "staging", "prod"]',
         "names 'staging', which has no terraform/environments/staging.tfvars"),
        ('promotion_order = ["preprod", "prod", "preprod"]', "names an environment twice"),
        ("promotion_order = []", "promotion_order must be a list of environment names"),
        ('promotion_order = ["preprod"]\nprotected_environments = ["prod"]',
         "protected prod not in promotion_order"),
    ],
)  # fmt: skip
def test_a_bad_order_names_the_problem(tmp_path: Path, settings: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        project.promotion_order(copy_settings(tmp_path, settings))


def test_an_environment_outside_the_order_is_refused(tmp_path: Path) -> None:
    repo = copy_settings(tmp_path, 'promotion_order = ["preprod", "prod"]', ("dev",))
    with pytest.raises(UsageError, match="dev is not in promotion_order"):
        project.promotion_order(repo).predecessor("dev")


def test_an_environment_named_like_a_key_of_the_gate_s_json_is_refused(tmp_path: Path) -> None:
    repo = copy_settings(tmp_path, 'promotion_order = ["preprod", "frozen"]', ("frozen",))
    with pytest.raises(UsageError, match="'frozen' is a reserved word; rename the environment"):
        project.promotion_order(repo)

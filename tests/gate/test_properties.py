"""Properties of the gate over generated changes: forged or partial signals never open prod's
auto path, and adding risk (a major update, a freeze) never loosens a decision."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import gate
from pipeline.gate.change import Change, Commit
from pipeline.state import project
from tests.conftest import REPO

pytestmark = pytest.mark.pipeline
ENVS = project.promotion_order(REPO)
POLICY = gate.load_policy(REPO / "ci" / "policy.yaml", ENVS)
BOT = "dependabot[bot]"
OPEN_HOURS = datetime(2026, 11, 18, 12, tzinfo=UTC)
UPDATE_TYPES = st.sampled_from(
    [f"version-update:semver-{k}" for k in ("patch", "minor", "major")] + ["", "garbage"]
)
logins = st.sampled_from([BOT, "web-flow", "octocat", "mallory", None, "dependabot"])
commits = st.builds(
    Commit,
    sha=st.text("0123456789abcdef", min_size=7, max_size=40),
    author_login=logins,
    committer_login=logins,
    verified=st.booleans(),
    message=st.just(""),
)
changes = st.builds(
    Change,
    number=st.integers(1, 10_000),
    head_sha=st.just("a" * 40),
    base_branch=st.sampled_from(["main", "main", "develop", None]),
    head_branch=st.sampled_from(
        ["dependabot/pip/x/requests-1", "dependabot/github_actions/a-1", "feature/x", None]
    ),
    author_login=logins,
    author_type=st.sampled_from(["Bot", "User", None]),
    labels=st.lists(st.sampled_from(["security", "dependencies", "emergency", "x"]), max_size=3),
    action=st.sampled_from(["opened", "labeled", "synchronize", None]),
    sender_login=logins,
    action_label=st.sampled_from(["emergency", "security", None]),
    commits=st.one_of(st.none(), st.lists(commits, max_size=4)),
    metadata=st.fixed_dictionaries(
        {},
        optional={
            "ghsa-id": st.sampled_from(["GHSA-1234-5678-9abc", ""]),
            "alert-state": st.sampled_from(["OPEN", "FIXED", "DISMISSED", ""]),
            "package-ecosystem": st.sampled_from(["pip", "github_actions", "terraform"]),
            "maintainer-changes": st.booleans(),
            "directory": st.sampled_from(["/", "/lambdas/ingestion", "/ci", "/terraform"]),
        },
    ),
    update_types=st.lists(st.tuples(st.just("dep"), UPDATE_TYPES), max_size=3),
)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


def _rank(level: str) -> int:
    return gate.LEVELS.index(level)


def _verified_dependabot(change: Change) -> bool:
    return (
        change.author_login == BOT
        and change.author_type == "Bot"
        and bool(change.commits)
        and all(
            c.author_login == BOT and c.committer_login in {BOT, "web-flow"} and c.verified
            for c in change.commits or []
        )
    )


@settings(max_examples=400, deadline=None)
@given(changes, moments)
def test_only_a_verified_dependabot_change_reaches_prod_automatically(
    change: Change, at: datetime
) -> None:
    if gate.decide(change, POLICY, at, ENVS).levels["prod"] == "auto":
        assert _verified_dependabot(change)


@settings(max_examples=300, deadline=None)
@given(changes, moments)
def test_adding_a_major_update_never_loosens(change: Change, at: datetime) -> None:
    before = gate.decide(change, POLICY, at, ENVS)
    change.update_types = [*change.update_types, ("new-dep", "version-update:semver-major")]
    after = gate.decide(change, POLICY, at, ENVS)
    assert _rank(after.levels["prod"]) >= _rank(before.levels["prod"])
    assert _rank(after.levels["preprod"]) >= _rank(before.levels["preprod"])


@settings(max_examples=300, deadline=None)
@given(changes, st.integers(0, 6))
def test_a_freeze_never_loosens(change: Change, offset: int) -> None:
    week_day = OPEN_HOURS + timedelta(days=offset)
    frozen = datetime(2026, 11, 21, 12, tzinfo=UTC)  # Saturday noon, inside the freeze
    if gate.frozen_at(POLICY, week_day):
        return
    open_decision = gate.decide(change, POLICY, week_day, ENVS)
    frozen_decision = gate.decide(change, POLICY, frozen, ENVS)
    assert _rank(frozen_decision.levels["prod"]) >= _rank(open_decision.levels["prod"])
    assert frozen_decision.levels["preprod"] == open_decision.levels["preprod"]

"""The gate over the fixture corpus: every policy row, the spoofing cases, freeze and emergency."""

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from pipeline import gate
from pipeline.gate import inputs
from tests.conftest import REPO
from tests.runner import Cli

pytestmark = pytest.mark.pipeline
FIX = REPO / "fixtures" / "github"
OPEN_HOURS = "2026-11-18T12:00:00+00:00"  # a Wednesday
WEEKEND = "2026-11-21T12:00:00+00:00"  # a Saturday, inside the freeze


def decision(
    event: str, commits: str | None, metadata: str | None, at: str = OPEN_HOURS
) -> gate.Decision:
    return inputs.from_files(REPO, inputs.Files(
        FIX / "events" / f"{event}.json",
        FIX / "commits" / f"{commits}.json" if commits else None,
        FIX / "metadata" / f"{metadata}.json" if metadata else None,
        at=at,
    ))  # fmt: skip


CASES = [
    # (id, event, commits, metadata, preprod, prod, a reason that must appear)
    (
        "security patch",
        "dependabot_pip_security",
        "dependabot_patch",
        "security_patch",
        "auto",
        "auto",
        "GHSA-9hjg-9r4m-mvj7 with alert-state OPEN",
    ),
    (
        "security by label only",
        "dependabot_pip_security",
        "dependabot_patch",
        None,
        "auto",
        "auto",
        "label 'security' on a verified Dependabot change",
    ),
    (
        "committer is dependabot",
        "dependabot_pip_security",
        "dependabot_committer_bot",
        "security_patch",
        "auto",
        "auto",
        "all 1 commits are dependabot[bot]",
    ),
    (
        "patch, not security",
        "dependabot_pip_patch",
        "dependabot_patch",
        None,
        "auto",
        "manual",
        "not a security update",
    ),
    (
        "fixed alert is not security",
        "dependabot_pip_patch",
        "dependabot_patch",
        "fixed_alert",
        "auto",
        "manual",
        "not a security update",
    ),
    (
        "minor",
        "dependabot_pip_minor",
        "dependabot_minor",
        "minor",
        "auto",
        "manual",
        "strictest is minor",
    ),
    (
        "major security",
        "dependabot_pip_major",
        "dependabot_major",
        "major_security",
        "manual",
        "manual",
        "strictest is major",
    ),
    (
        "empty update type",
        "dependabot_pip_security",
        "dependabot_empty_update_type",
        "empty_update_type",
        "manual",
        "manual",
        "requests unknown",
    ),
    (
        "update type from front matter",
        "dependabot_pip_minor",
        "dependabot_minor",
        None,
        "auto",
        "manual",
        "certifi version-update:semver-minor",
    ),
    (
        "grouped update, strictest member",
        "dependabot_grouped",
        "dependabot_grouped",
        None,
        "manual",
        "manual",
        "urllib3 version-update:semver-major",
    ),
    (
        "github_actions never auto",
        "dependabot_github_actions",
        "actions_patch",
        "github_actions_patch",
        "auto",
        "manual",
        "'github_actions' updates the pipeline itself",
    ),
    (
        "maintainer changes",
        "dependabot_pip_security",
        "dependabot_patch",
        "maintainer_changes",
        "manual",
        "manual",
        "maintainer-changes is true",
    ),
    ("human", "human", "human", None, "auto", "manual", "PR author is 'octocat' (User)"),
    (
        "security label on human grants nothing",
        "human_security_label",
        "human",
        None,
        "auto",
        "manual",
        "ignored: the change is not a verified",
    ),
    (
        "spoofed actor",
        "human_spoofed_actor",
        "dependabot_patch",
        "security_patch",
        "auto",
        "manual",
        "PR author is 'mallory' (User)",
    ),
    (
        "bot login with user type",
        "human_fake_bot_type",
        "dependabot_patch",
        "security_patch",
        "auto",
        "manual",
        "PR author is 'dependabot[bot]' (User)",
    ),
    (
        "human commit on a dependabot branch",
        "dependabot_pip_security",
        "dependabot_then_human",
        "security_patch",
        "auto",
        "manual",
        "commit bad0001 author is 'mallory'",
    ),
    (
        "unverified signature",
        "dependabot_pip_security",
        "dependabot_unverified",
        "security_patch",
        "auto",
        "manual",
        "commit c0ffee7 signature is not verified",
    ),
    (
        "unknown commits",
        "dependabot_pip_security",
        None,
        "security_patch",
        "auto",
        "manual",
        "PR commits are unknown",
    ),
    (
        "other base branch",
        "dependabot_other_base",
        "dependabot_patch",
        "security_patch",
        "block",
        "block",
        "base branch is 'release/2026.10'",
    ),
]


@pytest.mark.parametrize(
    ("event", "commits", "metadata", "preprod", "prod", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_policy_rows(event, commits, metadata, preprod, prod, reason) -> None:
    result = decision(event, commits, metadata)
    assert (result.levels["preprod"], result.levels["prod"]) == (preprod, prod), result.reasons
    assert any(reason in r for r in result.reasons), result.reasons
    expected_env = {"auto": "production-auto", "manual": "production", "block": "none"}[prod]
    assert result.environment == expected_env
    # A manual preprod runs in the environment whose reviewers answer it.
    expected_preprod = "preprod-reviewed" if preprod == "manual" else "preprod"
    assert result.github_environments == {"preprod": expected_preprod, "prod": expected_env}


def test_freeze_blocks_prod_but_not_preprod() -> None:
    result = decision("dependabot_pip_security", "dependabot_patch", "security_patch", WEEKEND)
    assert (result.levels["preprod"], result.levels["prod"], result.frozen) == (
        "auto",
        "block",
        True,
    )
    assert any(
        "prod is frozen: Sat 12:00 GMT is within sat 00:00-24:00" in r for r in result.reasons
    )


def test_freeze_edges_follow_the_policy_time_zone() -> None:
    # Friday 16:00 London is the start of the freeze; 15:59 is still open.
    assert decision("human", "human", None, "2026-11-20T15:59:00+00:00").levels["prod"] == "manual"
    assert decision("human", "human", None, "2026-11-20T16:00:00+00:00").levels["prod"] == "block"
    # In summer London is UTC+1: 15:30 UTC is already 16:30 local.
    assert decision("human", "human", None, "2026-07-17T15:30:00+00:00").levels["prod"] == "block"
    assert decision("human", "human", None, "2026-11-23T07:59:00+00:00").levels["prod"] == "block"
    assert decision("human", "human", None, "2026-11-23T08:00:00+00:00").levels["prod"] == "manual"


def test_security_exemption_is_a_policy_choice(tmp_path: Path) -> None:
    text = (
        (REPO / "ci" / "policy.yaml")
        .read_text()
        .replace("security_exempt: false", "security_exempt: true")
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    result = inputs.from_files(REPO, inputs.Files(
        FIX / "events" / "dependabot_pip_security.json",
        FIX / "commits" / "dependabot_patch.json",
        FIX / "metadata" / "security_patch.json",
        policy,
        WEEKEND,
    ))  # fmt: skip
    assert result.levels["prod"] == "auto"
    assert any("exempt by policy" in r for r in result.reasons)


def test_emergency_from_allowed_user_skips_freeze_but_needs_approval() -> None:
    result = decision("emergency_labeled_by_oncall", "human", None, WEEKEND)
    assert (result.levels["prod"], result.emergency, result.environment) == (
        "manual",
        True,
        "production",
    )
    assert any("label 'emergency' added by newsflow-oncall" in r for r in result.reasons)


def test_emergency_from_anyone_else_is_ignored() -> None:
    result = decision("emergency_labeled_by_author", "human", None, WEEKEND)
    assert (result.levels["prod"], result.emergency) == ("block", False)


def test_dependabot_commit_messages_are_in_dependabot_format() -> None:
    for path in (FIX / "commits").glob("dependabot_*.json"):
        for entry in json.loads(path.read_text()):
            if entry["author"] and entry["author"]["login"] == "dependabot[bot]":
                message = entry["commit"]["message"]
                assert "\n---\nupdated-dependencies:\n" in message, path
                assert message.rstrip().endswith(
                    "Signed-off-by: dependabot[bot] <support@github.com>"
                )


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """`pipeline gate` with nothing inherited but PATH: no token, no GitHub variables."""
    return Cli(REPO, tmp / "state", environ={"PATH": "/usr/bin:/bin"}).run("gate", *args)


def test_cli_prints_the_decision_json_and_explains_on_stderr(tmp_path: Path) -> None:
    done = _cli(
        tmp_path,
        "--event", str(FIX / "events" / "dependabot_pip_security.json"),
        "--commits", str(FIX / "commits" / "dependabot_patch.json"),
        "--metadata", str(FIX / "metadata" / "security_patch.json"),
        "--at", OPEN_HOURS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert (output["preprod"], output["prod"], output["environment"]) == (
        "auto",
        "auto",
        "production-auto",
    )
    assert output["change"]["author_login"] == "dependabot[bot]"
    assert "preprod auto, prod auto" in done.stderr


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("malformed", "is not valid JSON"),
        ("push_not_pr", "has no pull_request object"),
        ("does_not_exist", "cannot read the event file"),
    ],
)
def test_cli_rejects_unparseable_input_with_exit_2(
    tmp_path: Path, event: str, message: str
) -> None:
    done = _cli(tmp_path, "--event", str(FIX / "events" / f"{event}.json"))
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


def test_cli_rejects_a_time_without_zone(tmp_path: Path) -> None:
    done = _cli(
        tmp_path, "--event", str(FIX / "events" / "human.json"), "--at", "2026-11-20T10:00:00"
    )
    assert done.returncode == 2
    assert "has no time zone" in done.stderr


def test_decision_time_is_recorded_in_reasons_only_when_frozen() -> None:
    assert not any("frozen" in r for r in decision("human", "human", None).reasons)
    assert datetime.fromisoformat(OPEN_HOURS).weekday() == 2

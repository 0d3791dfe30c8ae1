"""Freeze windows decide at their edges under clock skew and across summer time."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline import gate
from pipeline.gate import change
from pipeline.state import project
from tests.conftest import REPO

pytestmark = pytest.mark.robustness
LONDON = ZoneInfo("Europe/London")
ENVS = project.promotion_order(REPO)


def human_change() -> change.Change:
    event = json.loads((REPO / "fixtures" / "github" / "events" / "human.json").read_text())
    commits = json.loads((REPO / "fixtures" / "github" / "commits" / "human.json").read_text())
    return change.read(event, change.parse_commits(commits), None)


@pytest.mark.parametrize(
    ("local", "prod"),
    [
        # Friday 16:00 London starts the weekend freeze; a second of skew decides.
        (datetime(2026, 11, 20, 15, 59, 59, 999000, LONDON), "manual"),
        (datetime(2026, 11, 20, 16, 0, 0, tzinfo=LONDON), "block"),
        # Monday 08:00 ends it.
        (datetime(2026, 11, 23, 7, 59, 59, tzinfo=LONDON), "block"),
        (datetime(2026, 11, 23, 8, 0, 0, tzinfo=LONDON), "manual"),
        # In summer time the same edge is 15:00 UTC, not 16:00 UTC.
        (datetime(2026, 7, 3, 14, 59, 59, tzinfo=ZoneInfo("UTC")), "manual"),
        (datetime(2026, 7, 3, 15, 0, 0, tzinfo=ZoneInfo("UTC")), "block"),
    ],
)
def test_freeze_edges_under_clock_skew(local: datetime, prod: str) -> None:
    policy = gate.load_policy(REPO / "ci" / "policy.yaml", ENVS)
    decision = gate.decide(human_change(), policy, local, ENVS)
    assert decision.levels == {"preprod": "auto", "prod": prod}

"""DORA metrics, computed by hand from a small ledger whose every figure is known."""

import pytest

from pipeline.reports import metrics

pytestmark = pytest.mark.pipeline


def promotion(sha: str, committed: str, finished: str, result: str = "ok", **extra) -> dict:
    return {"kind": "promote", "sha": sha, "commit_time": committed, "finished_at": finished,
            "result": result, **extra}  # fmt: skip


# Four days of prod, in order:
# - a: committed day 1 08:00, live day 1 10:00 (lead time 2 h);
# - b: committed day 1 20:00, live day 2 08:00 (12 h), then `pipeline rollback` away from it at
#   day 2 09:30 (restored 90 minutes after b went live);
# - c: failed at 30% and rolled back automatically in 1.5 s (traffic reached it);
# - d: refused by its gate before any traffic moved (not shipped, not a failure);
# - e: committed day 4 12:00, live day 5 10:00 (22 h).
LEDGER = [
    promotion("a", "2026-11-01T08:00:00+00:00", "2026-11-01T10:00:00+00:00"),
    promotion("b", "2026-11-01T20:00:00+00:00", "2026-11-02T08:00:00+00:00"),
    {"kind": "rollback", "sha": "a", "from_sha": "b", "result": "ok",
     "finished_at": "2026-11-02T09:30:00+00:00"},
    promotion("c", "2026-11-03T07:00:00+00:00", "2026-11-03T09:00:00+00:00", "failed",
              rollback={"seconds": 1.5, "to": {}}),
    promotion("d", "2026-11-03T11:00:00+00:00", "2026-11-03T11:05:00+00:00", "failed"),
    promotion("e", "2026-11-04T12:00:00+00:00", "2026-11-05T10:00:00+00:00"),
]  # fmt: skip


def test_every_figure_of_a_hand_built_ledger() -> None:
    figures = metrics.dora(list(reversed(LEDGER)))  # any order
    assert figures == {
        # a, b and e succeeded between day 1 10:00 and day 5 10:00: 3 in 4 days.
        "deployments": 3,
        "deployment_frequency_per_day": 0.75,
        # 2 h, 12 h, 22 h → median 12 h.
        "lead_time_seconds_median": 43200.0,
        # shipped: a, b, c, e; failed: b (rolled back from) and c (rolled back itself).
        "change_failure_rate": 0.5,
        "changes_failed": 2,
        "changes_shipped": 4,
        # restores: 1.5 s (c) and 5400 s (b) → median 2700.75 s.
        "time_to_restore_seconds_median": 2700.75,
        "rollbacks": 2,
    }


def test_an_empty_ledger_has_no_rates() -> None:
    figures = metrics.dora([])
    assert figures["deployments"] == 0 and figures["deployment_frequency_per_day"] == 0.0
    assert figures["lead_time_seconds_median"] is None
    assert figures["change_failure_rate"] is None
    assert figures["time_to_restore_seconds_median"] is None


def test_a_short_ledger_counts_per_day_not_per_hour() -> None:
    two = LEDGER[:2]  # a and b, 22 hours apart: the span counts as a day
    assert metrics.dora(two)["deployment_frequency_per_day"] == 2.0

"""The four DORA metrics, computed from the last environment's ledger (prod).

- deployment frequency: successful promotions per day, over the span the ledger covers;
- lead time for changes: commit time → live in prod, median;
- change failure rate: promotions that put traffic on new code and were then rolled back
  (automatically, or by a later `pipeline rollback` away from them), over all such promotions;
- time to restore: from the failure to `live` restored, median (the automatic rollback's own
  duration, or a failed promotion's end to the rollback that followed)."""

import statistics
from datetime import datetime
from typing import Any


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def dora(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics from ledger entries (any order)."""
    ordered = sorted(entries, key=lambda e: e.get("finished_at") or "")
    promotions = [e for e in ordered if e.get("kind", "promote") == "promote"]
    # Traffic reached the new code: a success, or a failure that had to be rolled back.
    shipped = [e for e in promotions if e.get("result") == "ok" or e.get("rollback")]
    successes = [e for e in promotions if e.get("result") == "ok"]
    rollbacks = [e for e in ordered if e.get("kind") == "rollback"]
    undone = {e.get("from_sha") for e in rollbacks}
    failed = [e for e in shipped if e.get("rollback") or e.get("sha") in undone]

    lead_times = []
    for entry in successes:
        committed, live = _time(entry.get("commit_time")), _time(entry.get("finished_at"))
        if committed and live:
            lead_times.append((live - committed).total_seconds())

    restores = [float(e["rollback"]["seconds"]) for e in promotions if e.get("rollback")]
    for rollback in rollbacks:
        broken = next((e for e in reversed(ordered)
                       if e.get("sha") == rollback.get("from_sha")
                       and (e.get("finished_at") or "") < (rollback.get("finished_at") or "")),
                      None)  # fmt: skip
        start, end = _time((broken or {}).get("finished_at")), _time(rollback.get("finished_at"))
        if start and end:
            restores.append((end - start).total_seconds())

    times = [t for t in (_time(e.get("finished_at")) for e in successes) if t]
    days = max((max(times) - min(times)).total_seconds() / 86400, 1.0) if times else 1.0
    return {
        "deployments": len(successes),
        "deployment_frequency_per_day": round(len(successes) / days, 3),
        "lead_time_seconds_median": round(statistics.median(lead_times), 1) if lead_times else None,
        "change_failure_rate": round(len(failed) / len(shipped), 3) if shipped else None,
        "changes_failed": len(failed),
        "changes_shipped": len(shipped),
        "time_to_restore_seconds_median": round(statistics.median(restores), 3)
        if restores
        else None,
        "rollbacks": len(rollbacks) + sum(1 for e in promotions if e.get("rollback")),
    }

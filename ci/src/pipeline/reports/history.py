"""`pipeline history`: an environment's ledger, newest first, as a person reads it."""

from pathlib import Path
from typing import Any

from pipeline.adapters import target
from pipeline.errors import RefusedError
from pipeline.state import project
from pipeline.state.ledger import Ledger


def history(repo: Path, env: str, kind: str | None, limit: int | None) -> list[dict[str, Any]]:
    tgt = target.resolve(repo, project.state_dir(repo), env, kind, start=False)
    if tgt is None:
        raise RefusedError("the emulator is not running, so no environment has a ledger yet")
    ledger = Ledger(tgt, env)
    if not ledger.exists():
        return []
    rows = []
    for entry in ledger.deployments(limit):
        rollback = entry.get("rollback")
        rows.append({
            "finished_at": entry.get("finished_at"),
            "kind": entry.get("kind", "promote"),
            "sha": entry.get("sha"),
            "result": "rolled back" if rollback else entry.get("result"),
            "who": entry.get("who"),
            "approver": (entry.get("approval") or {}).get("approver"),
            "versions": entry.get("versions", {}),
            "validated": entry.get("validated"),
            "message": entry.get("message"),
        })  # fmt: skip
    return rows

"""`pipeline status`: what each environment runs, according to its ledger and its aliases."""

from pathlib import Path
from typing import Any

from pipeline.adapters import target
from pipeline.stages import deploy
from pipeline.state import project
from pipeline.state.ledger import Ledger


def environment_status(repo: Path, state: Path, env: str, kind: str | None) -> dict[str, Any]:
    tgt = target.resolve(repo, state, env, kind, start=False)
    if tgt is None:
        return {"env": env, "target": "emulated", "state": "emulator not running: nothing deployed"}
    ledger = Ledger(tgt, env)
    row: dict[str, Any] = {"env": env, "target": tgt.kind}
    if not ledger.exists():  # reading status must not create anything
        return {**row, "state": "never deployed successfully"}
    good = ledger.last_good()
    latest = ledger.deployments(limit=1)
    if latest:
        row["last_attempt"] = {k: latest[0].get(k) for k in ("sha", "result", "finished_at", "who")}
    if not good:
        return {**row, "state": "never deployed successfully"}
    # Entries written before function names were recorded follow Terraform's naming.
    functions = good.get("functions") or {fn: f"{env}-{fn}" for fn in good.get("digests", {})}
    live = deploy.live_versions(tgt, functions)
    drift = {fn: v for fn, v in live.items() if good["versions"].get(fn) != v}
    decision = good.get("decision") or {}
    lock = ledger.lock()
    return {
        **row,
        "state": "consistent" if not drift else "live differs from the ledger",
        "sha": good["sha"],
        "kind": good.get("kind", "promote"),
        "versions": live,
        "digests": good["digests"],
        "deployed_by": good["who"],
        "deployed_at": good["finished_at"],
        "decision": decision.get(env),
        "approver": (good.get("approval") or {}).get("approver"),
        "validated": ledger.validated_shas(),
        "quarantined": [q["sha"] for q in ledger.quarantines()],
        "locked_by": {k: lock[k] for k in ("owner", "run_id", "taken_at")} if lock else None,
        "drift": drift,
    }


def status(repo: Path, kind: str | None) -> list[dict[str, Any]]:
    state = project.state_dir(repo)
    order = project.promotion_order(repo).order
    return [environment_status(repo, state, env, kind) for env in order]

"""`pipeline rollback`: point `live` back at versions a sha deployed before, without Terraform.

The target is the previous good deployment, or the one `--to SHA` names. Like a promotion it
holds the environment's lock and is written to the ledger; a rollback is never undone by another
default rollback, because that would silently re-deploy what was just taken out."""

from pathlib import Path
from typing import Any

from pipeline.adapters import target
from pipeline.errors import RefusedError
from pipeline.promotion.recorded import Listener, Outcome, RecordedRun
from pipeline.stages import deploy, traffic
from pipeline.state import project
from pipeline.state.ledger import Ledger, now_iso

LOCK_SECONDS = 300.0


def choose(entries: list[dict[str, Any]], env: str, to: str | None) -> dict[str, Any]:
    """The deployment to return to, from the ledger's entries (newest first)."""
    good = [e for e in entries if e.get("result") == "ok" and e.get("versions")]
    if not good:
        raise RefusedError(f"{env} has no successful deployment in its ledger to roll back to")
    current = good[0]
    if to:
        match = next((e for e in good if e["sha"] == to or e["sha"].startswith(to)), None)
        if match is None or len(to) < 7:
            known = ", ".join(dict.fromkeys(e["sha"][:12] for e in good))
            raise RefusedError(
                f"{to!r} was never deployed successfully to {env} (give at least 7 characters of "
                f"a sha); deployed there: {known}"
            )
        return match
    if current.get("kind") == "rollback":
        raise RefusedError(
            f"the last change to {env} was itself a rollback (to {current['sha'][:12]} by "
            f"{current.get('who')} at {current.get('finished_at')}); name the sha to move to "
            "with --to SHA"
        )
    earlier = next((e for e in good[1:] if e["sha"] != current["sha"]), None)
    if earlier is None:
        raise RefusedError(
            f"{env} has only ever run {current['sha'][:12]} successfully; there is nothing "
            "earlier to roll back to"
        )
    return earlier


def rollback(
    repo: Path,
    env: str,
    to: str | None,
    listener: Listener,
    kind: str | None = None,
    break_lock: dict[str, str] | None = None,
) -> Outcome:
    state = project.state_dir(repo)
    tgt = target.resolve(repo, state, env, kind, start=False)
    if tgt is None:
        raise RefusedError(
            f"the emulator is not running, so nothing is deployed to {env}; nothing to roll back"
        )
    ledger = Ledger(tgt, env)
    if not ledger.exists():
        raise RefusedError(f"{env} has never been deployed; nothing to roll back")
    run = RecordedRun(state, "rollback",
                      {"env": env, "to": to, "target": tgt.kind, "break_lock": break_lock},
                      listener, env=env, target=tgt.kind)  # fmt: skip
    record, runner = run.record, run.runner
    seconds, locked = 0.0, False
    try:
        with run.stages(""):
            with runner.stage("lock") as log:
                replaced = ledger.acquire_lock(
                    project.operator(), record.data["id"], LOCK_SECONDS, break_lock
                )
                locked = True
                log.detail = f"{env} locked" + (
                    f"; broke the lock of {replaced['owner']} (run {replaced['run_id']})"
                    if replaced
                    else ""
                )
            with runner.stage("rollback") as log:
                entries = ledger.deployments()
                chosen = choose(entries, env, to)
                names = chosen.get("functions") or {fn: f"{env}-{fn}" for fn in chosen["versions"]}
                before = deploy.live_versions(tgt, names)
                seconds = traffic.restore(tgt, names, chosen["versions"])
                run.sha, run.versions = chosen["sha"], dict(chosen["versions"])
                log.detail = f"live → {chosen['sha'][:12]} in {seconds:.2f}s"
            with runner.stage("record") as log:
                current = next((e for e in entries if e.get("result") == "ok"), {})
                ledger.record({
                    "kind": "rollback", "run_id": record.data["id"], "env": env,
                    "target": tgt.kind, "sha": chosen["sha"], "from_sha": current.get("sha"),
                    "commit_time": chosen.get("commit_time"), "who": project.operator(),
                    "digests": chosen.get("digests", {}), "versions": chosen["versions"],
                    "previous_versions": before, "functions": names, "seconds": seconds,
                    "result": "ok", "message": f"rolled back to {chosen['sha'][:12]}",
                    "started_at": record.data["started_at"], "finished_at": now_iso(),
                })  # fmt: skip
                log.detail = f"{ledger.table}: rollback"
            run.message = (
                f"{env} live is {run.sha[:12]} again (from {str(current.get('sha'))[:12]}), "
                f"restored in {seconds:.2f}s"
            )
    finally:
        if locked:
            ledger.release_lock(record.data["id"])
    return run.finish({"seconds": round(seconds, 3)}, sha=run.sha)

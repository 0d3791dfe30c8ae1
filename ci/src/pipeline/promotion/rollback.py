"""`pipeline rollback`: point `live` back at versions a sha deployed before, without Terraform.

The target is the previous good deployment, or the one `--to SHA` names. Like a promotion it
holds the environment's lock and is written to the ledger; a rollback is never undone by another
default rollback, because that would silently re-deploy what was just taken out."""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.adapters import aws_errors, target
from pipeline.errors import PipelineError, RefusedError
from pipeline.promotion import job_summary
from pipeline.promotion.recorded import Listener, StageRunner
from pipeline.stages import deploy, traffic
from pipeline.state import project
from pipeline.state.ledger import Ledger, now_iso
from pipeline.state.run_record import RunRecord

LOCK_SECONDS = 300.0


@dataclass
class RollbackOutcome:
    env: str
    exit_code: int
    message: str
    record_path: Path
    sha: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "result": {0: "ok", 3: "refused"}.get(self.exit_code, "failed"),
            "exit_code": self.exit_code,
            "message": self.message,
            "sha": self.sha,
            "versions": self.versions,
            "seconds": round(self.seconds, 3),
            "run_record": str(self.record_path),
        }


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
) -> RollbackOutcome:
    state = project.state_dir(repo)
    tgt = target.resolve(repo, state, env, kind, start=False)
    if tgt is None:
        raise RefusedError(
            f"the emulator is not running, so nothing is deployed to {env}; nothing to roll back"
        )
    ledger = Ledger(tgt, env)
    if not ledger.exists():
        raise RefusedError(f"{env} has never been deployed; nothing to roll back")
    started = time.monotonic()
    record = RunRecord.create(
        state, "rollback", {"env": env, "to": to, "target": tgt.kind, "break_lock": break_lock}
    )
    runner = StageRunner(listener, record.add_stage, aws_errors.translate)
    outcome = RollbackOutcome(env, 0, "", record.path)
    locked = False
    try:
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
            outcome.seconds = traffic.restore(tgt, names, chosen["versions"])
            outcome.sha, outcome.versions = chosen["sha"], dict(chosen["versions"])
            log.detail = f"live → {chosen['sha'][:12]} in {outcome.seconds:.2f}s"
        with runner.stage("record") as log:
            current = next((e for e in entries if e.get("result") == "ok"), {})
            ledger.record({
                "kind": "rollback", "run_id": record.data["id"], "env": env,
                "target": tgt.kind, "sha": chosen["sha"], "from_sha": current.get("sha"),
                "commit_time": chosen.get("commit_time"), "who": project.operator(),
                "digests": chosen.get("digests", {}), "versions": chosen["versions"],
                "previous_versions": before, "functions": names, "seconds": outcome.seconds,
                "result": "ok", "message": f"rolled back to {chosen['sha'][:12]}",
                "started_at": record.data["started_at"], "finished_at": now_iso(),
            })  # fmt: skip
            log.detail = f"{ledger.table}: rollback"
        outcome.message = (
            f"{env} live is {outcome.sha[:12]} again (from {str(current.get('sha'))[:12]}), "
            f"restored in {outcome.seconds:.2f}s"
        )
    except PipelineError as exc:
        outcome.exit_code, outcome.message = exc.exit_code, str(exc)
    finally:
        if locked:
            ledger.release_lock(record.data["id"])
    record.finish(
        "ok" if outcome.exit_code == 0 else "failed",
        outcome.exit_code,
        message=outcome.message,
        sha=outcome.sha,
        versions=outcome.versions,
        seconds=round(time.monotonic() - started, 3),
    )
    job_summary.append_run(record.data)
    return outcome

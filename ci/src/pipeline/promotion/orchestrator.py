"""The promotion algorithm, written once: it orders the stages, records every result and decides
the outcome. Where a step executes (this process, or a Dagger container) is not its concern."""

from pathlib import Path
from typing import Any

from pipeline import gate
from pipeline.adapters import emulator, target
from pipeline.errors import PipelineError, RefusedError, UsageError
from pipeline.gate import inputs
from pipeline.promotion import first, follow_on
from pipeline.promotion.first import Promotion
from pipeline.promotion.follow_on import FollowOnPromotion
from pipeline.promotion.recorded import Listener, Outcome, RecordedRun
from pipeline.state import project, source


def promote(
    repo: Path,
    env: str,
    listener: Listener,
    target_kind: str | None = None,
    decision: gate.Decision | None = None,
    approval: dict[str, str] | None = None,
    unquarantine: dict[str, str] | None = None,
    gate_inputs: dict[str, Any] | None = None,
    break_lock: dict[str, str] | None = None,
    artifacts: Path | None = None,
) -> Outcome:
    state = project.state_dir(repo)
    src = source.read(repo)
    envs = project.promotion_order(repo)
    source_env = envs.predecessor(env)
    if artifacts and source_env:
        raise UsageError(
            f"--artifacts is for the environment that builds; {env} takes only the bytes "
            f"{source_env} validated, from {source_env} itself"
        )
    if src.dirty and env in envs.protected:
        raise RefusedError(
            f"the working tree has uncommitted changes; {env} only takes committed, clean builds. "
            "Commit (or stash) and promote the new sha"
        )
    tgt = target.resolve(repo, state, env, target_kind)
    assert tgt is not None
    run = RecordedRun(
        state,
        "promote",
        {
            "env": env,
            "target": tgt.kind,
            "sha": src.sha,
            "dirty": src.dirty,
            "author": src.author,
            "commit_time": src.commit_time,
            "gate": gate_inputs,
            "approve": approval,
            "unquarantine": unquarantine,
            "break_lock": break_lock,
            "artifacts": str(artifacts) if artifacts else None,
        },
        listener,
        env=env,
        target=tgt.kind,
        sha=src.sha,
    )
    promotion = (FollowOnPromotion if source_env else Promotion)(
        repo, state, env, src, tgt, run.record, run.runner, supplied=artifacts
    )
    validated = f"{src.short} promoted to {env} ({tgt.kind}), verified and validated"
    live = f"{src.short} promoted to {env} ({tgt.kind}): 100% live, canary and alarms clear"
    try:
        with run.stages(live if source_env else validated):
            promotion.gate(decision or inputs.without_event(envs), approval)
            if isinstance(promotion, FollowOnPromotion):
                follow_on.run(promotion, source_env, unquarantine, break_lock)
            else:
                first.run(promotion)
    except Exception as exc:
        if tgt.kind != "emulated" or emulator.alive(state):
            raise
        run.fail(1, f"{type(exc).__name__}: {exc}")  # explained just below
    if tgt.kind == "emulated" and not emulator.alive(state):
        # Even a run whose stages all passed failed if its ledger record could not be written.
        run.fail(
            run.exit_code or 1,
            f"{run.where_it_stopped()} because the emulator stopped during the run; its "
            "emulated AWS, ledger included, is gone. The next `./pipeline promote` starts a new "
            "emulator and deploys from scratch",
        )
    elif promotion.reached_target:
        try:
            promotion.record_ledger("ok" if run.exit_code == 0 else "failed", run.message)
        except PipelineError as exc:
            run.fail(run.exit_code or exc.exit_code,
                     f"{run.message}; the ledger was not written: {exc}")  # fmt: skip
    run.versions = promotion.versions
    return run.finish(manifest=promotion.manifest)

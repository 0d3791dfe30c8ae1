"""The promotion algorithm, written once: it orders the stages, records every result and decides
the outcome. Where a step executes (this process, or a Dagger container) is not its concern."""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import gate
from pipeline.adapters import aws_errors, emulator, target
from pipeline.errors import PipelineError, RefusedError, UsageError
from pipeline.gate import inputs
from pipeline.promotion import follow_on, job_summary
from pipeline.promotion.first import Promotion
from pipeline.promotion.recorded import Listener, StageRunner
from pipeline.state import project, source
from pipeline.state.run_record import RunRecord


@dataclass
class Outcome:
    env: str
    target: str
    sha: str
    exit_code: int
    message: str
    record_path: Path
    stages: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def result(self) -> str:
        return run_result(self.exit_code)

    def summary_row(self) -> dict[str, Any]:
        versions = ", ".join(f"{k}:{v}" for k, v in sorted(self.versions.items())) or "-"
        return {
            "env": self.env,
            "target": self.target,
            "sha": self.sha[:12],
            "versions": versions,
            "result": self.result,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "target": self.target,
            "sha": self.sha,
            "result": self.result,
            "exit_code": self.exit_code,
            "message": self.message,
            "versions": self.versions,
            "stages": self.stages,
            "run_record": str(self.record_path),
        }


def run_result(exit_code: int) -> str:
    return {0: "ok", 3: "refused"}.get(exit_code, "failed")


def _where_it_stopped(runner: StageRunner) -> str:
    last = runner.results[-1] if runner.results else None
    if last is None:
        return "the run failed"
    return f"the run failed after {last.name}" if last.status == "ok" else f"{last.name} failed"


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
    source_env = follow_on.predecessor(repo, env)
    if artifacts and source_env:
        raise UsageError(
            f"--artifacts is for the environment that builds; {env} takes only the bytes "
            f"{source_env} validated, from {source_env} itself"
        )
    if src.dirty and env in project.protected_environments(repo):
        raise RefusedError(
            f"the working tree has uncommitted changes; {env} only takes committed, clean builds. "
            "Commit (or stash) and promote the new sha"
        )
    tgt = target.resolve(repo, state, env, target_kind)
    assert tgt is not None
    record = RunRecord.create(
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
    )
    runner = StageRunner(listener, record.add_stage, aws_errors.translate)
    run = (follow_on.ProductionPromotion if source_env else Promotion)(
        repo, state, env, src, tgt, record, runner, supplied=artifacts
    )
    started = time.monotonic()
    exit_code, message = 0, f"{src.short} promoted to {env} ({tgt.kind}), verified and validated"
    try:
        run.gate(decision or inputs.without_event(), approval)
        if isinstance(run, follow_on.ProductionPromotion) and source_env:
            follow_on.run_production(run, source_env, unquarantine, break_lock)
            message = (
                f"{src.short} promoted to {env} ({tgt.kind}): 100% live, canary and alarms clear"
            )
        else:
            run.unit_test()
            run.package()
            run.upload()
            run.apply()
            run.deploy()
            run.verify()
    except PipelineError as exc:
        exit_code, message = exc.exit_code, str(exc)
    except Exception as exc:
        if tgt.kind != "emulated" or emulator.alive(state):
            raise
        exit_code, message = 1, f"{type(exc).__name__}: {exc}"  # explained just below
    emulator_gone = tgt.kind == "emulated" and not emulator.alive(state)
    if emulator_gone:
        # Even a run whose stages all passed failed if its ledger record could not be written.
        exit_code = exit_code or 1
        message = (
            f"{_where_it_stopped(runner)} because the emulator stopped during the run; its "
            "emulated AWS, ledger included, is gone. The next `./pipeline promote` starts a new "
            "emulator and deploys from scratch"
        )
    elif run.reached_target:
        try:
            run.record_ledger("ok" if exit_code == 0 else "failed", message)
        except PipelineError as exc:
            exit_code = exit_code or exc.exit_code
            message += f"; the ledger was not written: {exc}"
    record.finish(
        run_result(exit_code),
        exit_code,
        message=message,
        versions=run.versions,
        manifest=run.manifest,
        seconds=round(time.monotonic() - started, 3),
    )
    job_summary.append_run(record.data)
    return Outcome(
        env,
        tgt.kind,
        src.sha,
        exit_code,
        message,
        record.path,
        [r.to_json() for r in runner.results],
        run.versions,
    )

"""A recorded run, written once for every command: its run record, its stages (timing, outcome
and the failing log tail), the error that ends it, and its one result type."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.adapters import aws_errors
from pipeline.errors import PipelineError, Result, result_of
from pipeline.promotion import job_summary
from pipeline.state.run_record import RunRecord
from pipeline.state.stage_log import StageLog, StageResult

Listener = Callable[[str, StageResult | None], None]
Translator = Callable[[BaseException], PipelineError | None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class StageRunner:
    """Runs named stages, records each result and notifies a listener (the CLI). Stages may run
    on several threads at once (the promotion's graph); results are kept in the order they end."""

    listener: Listener = lambda name, result: None
    on_result: Callable[[StageResult], None] = lambda result: None
    translate: Translator = lambda exc: None
    results: list[StageResult] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageLog]:
        log = StageLog()
        with self._lock:
            self.listener(name, None)
        started, started_at = time.monotonic(), _now()

        def result(status: Result, detail: str, tail: list[str]) -> StageResult:
            return StageResult(name, status, time.monotonic() - started, detail, tail,
                               started_at, _now())  # fmt: skip

        try:
            yield log
        except PipelineError as exc:
            self._finish(result(result_of(exc.exit_code), str(exc), log.tail()))
            raise
        except Exception as exc:
            known = self.translate(exc)
            detail = str(known) if known else f"{type(exc).__name__}: {exc}"
            self._finish(result("failed", detail, log.tail()))
            if known:
                raise known from exc
            raise
        self._finish(result("ok", log.detail, []))

    def _finish(self, result: StageResult) -> None:
        with self._lock:
            self.results.append(result)
            self.listener(result.name, result)
            self.on_result(result)


@dataclass
class Outcome:
    """What every command that runs stages returns: the CLI prints it, --json emits it, CI
    uploads it. `details` holds what one command adds (a rollback's seconds)."""

    env: str
    target: str
    sha: str
    exit_code: int
    message: str
    record_path: Path
    stages: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> str:
        return result_of(self.exit_code)

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
            **self.details,
            "run_record": str(self.record_path),
        }


class RecordedRun:
    """One command's run: a run record, a stage runner that writes into it, and a clock.

    `stages()` runs the body and ends the run on the first PipelineError with that error's exit
    code and message; `finish()` closes the record, appends the job summary and returns the
    Outcome. Promote, the single verbs, rollback and the access proof all run this way."""

    def __init__(
        self,
        state: Path,
        command: str,
        inputs: dict[str, Any],
        listener: Listener,
        *,
        env: str,
        target: str,
        sha: str = "",
    ) -> None:
        self.record = RunRecord.create(state, command, inputs)
        self.runner = StageRunner(listener, self.record.add_stage, aws_errors.translate)
        self.env, self.target, self.sha = env, target, sha
        self.exit_code, self.message = 0, ""
        self.versions: dict[str, str] = {}
        self.started = time.monotonic()

    @contextmanager
    def stages(self, success: str) -> Iterator[None]:
        """The run's stages; `success` is the message unless a PipelineError ends them."""
        self.message = success
        try:
            yield
        except PipelineError as exc:
            self.fail(exc.exit_code, str(exc))

    def fail(self, exit_code: int, message: str) -> None:
        self.exit_code, self.message = exit_code, message

    def where_it_stopped(self) -> str:
        last = self.runner.results[-1] if self.runner.results else None
        if last is None:
            return "the run failed"
        return f"the run failed after {last.name}" if last.status == "ok" else f"{last.name} failed"

    def finish(self, details: dict[str, Any] | None = None, **record: Any) -> Outcome:
        """Close the record (with `record`'s extra fields) and return the Outcome."""
        self.record.finish(
            result_of(self.exit_code),
            self.exit_code,
            message=self.message,
            seconds=round(time.monotonic() - self.started, 3),
            **({"versions": self.versions} if self.versions else {}),
            **record,
        )
        job_summary.append_run(self.record.data)
        stages = [result.to_json() for result in self.runner.results]
        return Outcome(self.env, self.target, self.sha, self.exit_code, self.message,
                       self.record.path, stages, dict(self.versions), details or {})  # fmt: skip

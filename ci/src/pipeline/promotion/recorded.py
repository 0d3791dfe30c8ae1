"""Stage results and the run that collects them: timing, outcome and the failing log tail."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pipeline.errors import PipelineError
from pipeline.state.stage_log import StageLog, StageResult, Status

Listener = Callable[[str, StageResult | None], None]
Translator = Callable[[BaseException], PipelineError | None]


@dataclass
class StageRunner:
    """Runs named stages in order, records each result and notifies a listener (the CLI)."""

    listener: Listener = lambda name, result: None
    on_result: Callable[[StageResult], None] = lambda result: None
    translate: Translator = lambda exc: None
    results: list[StageResult] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageLog]:
        log = StageLog()
        self.listener(name, None)
        started = time.monotonic()
        try:
            yield log
        except PipelineError as exc:
            status: Status = "refused" if exc.exit_code == 3 else "failed"
            self._finish(
                StageResult(name, status, time.monotonic() - started, str(exc), log.tail())
            )
            raise
        except Exception as exc:
            known = self.translate(exc)
            detail = str(known) if known else f"{type(exc).__name__}: {exc}"
            self._finish(
                StageResult(name, "failed", time.monotonic() - started, detail, log.tail())
            )
            if known:
                raise known from exc
            raise
        self._finish(StageResult(name, "ok", time.monotonic() - started, log.detail))

    def _finish(self, result: StageResult) -> None:
        self.results.append(result)
        self.listener(result.name, result)
        self.on_result(result)

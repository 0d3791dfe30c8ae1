"""What a stage writes while it runs and how it ended: the unit a run record stores."""

from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.errors import Result

LOG_TAIL_LINES = 40


@dataclass
class StageResult:
    name: str
    status: Result
    seconds: float
    detail: str = ""
    log_tail: list[str] = field(default_factory=list)
    # Wall-clock bounds (ISO UTC, milliseconds): stages overlap, so a duration alone cannot say
    # which waited for which; the Gantt chart and the critical path are drawn from these.
    started_at: str = ""
    finished_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


class StageLog:
    """What a stage says while it runs; its tail goes into the run record if it fails."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.detail = ""

    def write(self, text: str) -> None:
        self.lines.extend(text.rstrip("\n").splitlines())

    def tail(self) -> list[str]:
        return self.lines[-LOG_TAIL_LINES:]

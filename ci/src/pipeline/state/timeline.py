"""A run's stages on one time axis, from the start and end times the run record keeps.

Stages overlap, so a list of durations no longer says where the time went: the timeline gives
each stage's offset, the critical path (the chain of stages that ended the run, each one
waiting for the one before it), and a compact text Gantt chart for job summaries and the CLI."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Two stages touch when one starts within this long of the other's end (threads take a moment).
_TOUCH_SECONDS = 0.25


@dataclass(frozen=True)
class Span:
    name: str
    status: str
    start: float  # seconds from the run's first stage
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def spans(stages: list[dict[str, Any]]) -> list[Span]:
    """The stages that carry start and end times, in the order they started."""
    timed = [
        (s, datetime.fromisoformat(s["started_at"]), datetime.fromisoformat(s["finished_at"]))
        for s in stages
        if s.get("started_at") and s.get("finished_at")
    ]
    if not timed:
        return []
    origin = min(start for _, start, _ in timed)
    result = [
        Span(str(s["name"]), str(s.get("status", "")), (start - origin).total_seconds(),
             (end - origin).total_seconds())
        for s, start, end in timed
    ]  # fmt: skip
    return sorted(result, key=lambda span: (span.start, span.end))


def critical_path(timeline: list[Span]) -> list[str]:
    """From the stage that ended last, back through the stage each one started right after."""
    if not timeline:
        return []
    current = max(timeline, key=lambda span: span.end)
    path = [current]
    while True:
        before = [s for s in timeline if s.end <= current.start + _TOUCH_SECONDS and s not in path]
        touching = [s for s in before if current.start - s.end <= _TOUCH_SECONDS]
        if not touching:
            break
        current = max(touching, key=lambda span: span.end)
        path.append(current)
    return [span.name for span in reversed(path)]


def wall_over_serial(timeline: list[Span]) -> float | None:
    """The run's wall time over the sum of its stages' times: 1.0 when nothing overlapped."""
    serial = sum(span.seconds for span in timeline)
    if not timeline or serial <= 0:
        return None
    return max(span.end for span in timeline) / serial


def text_chart(stages: list[dict[str, Any]], width: int = 40) -> str:
    """One line per stage: its bar on the run's time axis, its seconds, and `*` on the critical
    path. Empty when the record predates stage times."""
    return render(spans(stages), width)


def render(timeline: list[Span], width: int = 40) -> str:
    """The text chart of a timeline already read (the benchmark keeps its runs' spans)."""
    if not timeline:
        return ""
    total = max(span.end for span in timeline) or 1.0
    critical = set(critical_path(timeline))
    label = max(len(span.name) for span in timeline)
    lines = []
    for span in timeline:
        first = min(width - 1, int(span.start / total * width))
        cells = max(1, round(span.seconds / total * width))
        bar = " " * first + ("█" if span.status == "ok" else "▒") * min(cells, width - first)
        mark = "*" if span.name in critical else " "
        lines.append(f"{span.name:<{label}} |{bar:<{width}}| {span.seconds:6.1f}s {mark}")
    ratio = wall_over_serial(timeline)
    lines.append(
        f"{'':<{label}}  wall {total:.1f}s; stages sum to {sum(s.seconds for s in timeline):.1f}s"
        + (f" (wall ÷ serial {ratio:.2f})" if ratio else "")
        + "; * critical path, ▒ did not pass"
    )
    return "\n".join(lines)

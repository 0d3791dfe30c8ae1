"""The stage graph's rules, with steps that record what they saw: independent steps overlap, a
step starts only after what it needs passed, the first failure is raised and stops new steps."""

import threading
import time

import pytest

from pipeline.concurrency import Step, run_graph
from pipeline.promotion import replay

pytestmark = pytest.mark.pipeline


class Trace:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def step(self, name: str, seconds: float = 0.0, fail: bool = False):
        def run() -> None:
            with self.lock:
                self.events.append(("start", name))
            time.sleep(seconds)
            with self.lock:
                self.events.append(("end", name))
            if fail:
                raise RuntimeError(f"{name} broke")

        return run

    def index(self, kind: str, name: str) -> int:
        return self.events.index((kind, name))


def test_independent_steps_overlap_and_needs_wait() -> None:
    trace = Trace()
    both = threading.Barrier(2, timeout=5)  # fails unless tests and package run at once

    def meets(name: str):
        def run() -> None:
            trace.step(name)()
            both.wait()

        return run

    run_graph([
        Step("tests", meets("tests")),
        Step("package", meets("package")),
        Step("upload", trace.step("upload", 0.05), needs=("package",)),
        Step("apply", trace.step("apply"), needs=("tests", "upload")),
    ])  # fmt: skip
    assert trace.index("end", "upload") < trace.index("start", "apply")
    assert trace.index("end", "tests") < trace.index("start", "apply")
    assert trace.index("end", "package") < trace.index("start", "upload")


def test_first_failure_is_raised_and_nothing_after_it_starts() -> None:
    trace = Trace()
    with pytest.raises(RuntimeError, match="tests broke"):
        run_graph([
            Step("tests", trace.step("tests", fail=True)),
            Step("package", trace.step("package", 0.2)),
            Step("upload", trace.step("upload"), needs=("package",)),
            Step("apply", trace.step("apply"), needs=("tests", "upload")),
        ])  # fmt: skip
    started = [name for kind, name in trace.events if kind == "start"]
    assert "package" in started  # already running: it finishes
    assert "upload" not in started and "apply" not in started
    assert ("end", "package") in trace.events


def test_a_need_must_be_declared_before_it_is_used() -> None:
    with pytest.raises(ValueError, match="needs \\['later'\\]"):
        run_graph([Step("first", lambda: None, needs=("later",)), Step("later", lambda: None)])


def test_replay_compares_the_graph_not_the_finishing_order() -> None:
    ran = [
        {"name": "gate", "status": "ok"},
        {"name": "package", "status": "ok"},
        {"name": "upload", "status": "ok"},
        {"name": "unit-test", "status": "failed"},
        {"name": "plan", "status": "ok"},
        {"name": "record", "status": "ok"},
    ]
    again = [ran[0], ran[1], ran[3], ran[5]]  # failed sooner: upload and plan never started
    assert replay.outcomes(ran) == [("gate", "ok"), ("unit-test", "failed")]
    assert replay.first_difference(replay.outcomes(ran), replay.outcomes(again)) is None
    follow_on = [{"name": n, "status": "ok"} for n in ("gate", "preconditions", "copy", "plan")]
    assert [n for n, _ in replay.outcomes(follow_on)] == ["gate", "preconditions", "copy", "plan"]

"""The run timeline: offsets from the recorded times, the critical path through overlapping
stages, and the text chart the job summary shows."""

import pytest

from pipeline.state import timeline

pytestmark = pytest.mark.pipeline


def stage(name: str, start: float, end: float, status: str = "ok") -> dict:
    def at(seconds: float) -> str:
        return f"2026-12-02T10:00:{seconds:06.3f}+00:00"

    return {"name": name, "status": status, "started_at": at(start), "finished_at": at(end)}


RUN = [
    stage("gate", 0, 0.1),
    stage("unit-test", 0.1, 30),
    stage("package", 0.1, 4),
    stage("upload", 4, 10),
    stage("plan", 10, 20),
    stage("apply", 30, 40),
    stage("record", 40, 40.5),
]


def test_critical_path_follows_the_stage_each_one_waited_for() -> None:
    spans = timeline.spans(RUN)
    assert spans[0].name == "gate" and spans[-1].name == "record"
    assert timeline.critical_path(spans) == ["gate", "unit-test", "apply", "record"]
    assert timeline.wall_over_serial(spans) == pytest.approx(40.5 / 60.4)


def test_text_chart_draws_each_stage_where_it_ran() -> None:
    lines = timeline.text_chart(RUN, width=81).splitlines()
    bars = {line.split()[0]: line.split("|")[1] for line in lines[:-1]}
    marked = {line.split()[0] for line in lines[:-1] if line.rstrip().endswith("*")}
    assert marked == {"gate", "unit-test", "apply", "record"}
    assert bars["apply"].index("█") == 60 and bars["apply"].count("█") == 20
    assert bars["upload"].index("█") == 8
    assert "wall ÷ serial 0.67" in lines[-1]
    assert timeline.text_chart([{"name": "gate", "status": "ok", "seconds": 1.0}]) == ""


def test_a_stage_that_did_not_pass_is_drawn_apart() -> None:
    chart = timeline.text_chart([stage("gate", 0, 1), stage("unit-test", 1, 2, "failed")])
    assert "▒" in chart.splitlines()[1] and "█" not in chart.splitlines()[1]

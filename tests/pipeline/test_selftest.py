"""`pipeline test` runs pytest in parallel unless the caller decided otherwise."""

import pytest

from pipeline.cli import suite


def test_parallel_by_default_one_module_per_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite.os, "cpu_count", lambda: 2)
    assert suite.parallel_args(["tests/unit"]) == ["-n", "3", "--dist", "loadfile"]
    monkeypatch.setattr(suite.os, "cpu_count", lambda: 16)
    assert suite.parallel_args([])[:2] == ["-n", str(suite.MAX_WORKERS)]


@pytest.mark.parametrize("args", [["-n", "0"], ["-n2"], ["--numprocesses=3"], ["-p", "no:xdist"]])
def test_the_callers_choice_wins(args: list[str]) -> None:
    assert suite.parallel_args(args) == []

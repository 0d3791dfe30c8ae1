"""The benchmark harness's arithmetic and its latency relay, without timing anything that matters:
the summary of repeated runs, the markdown table, and a relay that only adds delay."""

import sys
import time
from collections.abc import Iterator

import pytest

from pipeline.adapters import emulator
from pipeline.adapters.target import DEFAULT_REGION, Target
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import harness
import latency

pytestmark = pytest.mark.pipeline


def _repeat(scale: float, result: str = "ok") -> dict:
    def run(total: float, **stages: float) -> dict:
        return {"total": total * scale, "stages": stages, "result": result}

    def span(name: str, start: float, end: float) -> dict:
        return {"name": name, "status": "ok", "start": start * scale, "end": end * scale}

    promotions = {
        "preprod cold": {
            **run(200, apply=90, verify=80),
            # unit-test beside package, then apply, then verify: 170 s of stages
            # in 120 s of wall time
            "timeline": [
                span("unit-test", 0, 30),
                span("package", 0, 20),
                span("apply", 30, 40),
                span("verify", 40, 120),
            ],
        },
        "preprod warm": run(120, apply=40, verify=60),
        "preprod no-change": run(30, verify=20),
        "prod": run(150, shift=60),
        "rollback": {**run(2, restore=1), "restore": 0.5 * scale},
    }
    steps = {"upload": 0.1 * scale, "restore": 0.05 * scale}
    variants = {"moto": {"4": steps, "40": {k: v * 10 for k, v in steps.items()}}}
    return {
        "promotions": promotions,
        "packaging": {"pipeline": 2.0, "zip -r": 1.6 * scale, "ratio": 1.25 / scale,
                      "reproducible": {"pipeline": True, "zip -r": False}},
        "scale": variants,
    }  # fmt: skip


def test_repeats_become_min_median_max_and_the_table_shows_goals_and_ratios() -> None:
    result = harness.summarise([_repeat(1.0), _repeat(2.0), _repeat(1.5, "failed")])
    cold = result["promotions"]["preprod cold"]
    assert cold["total"] == {"min": 200.0, "median": 300.0, "max": 400.0}
    assert cold["stages"]["apply"] == {"min": 90.0, "median": 90.0, "max": 90.0}
    assert result["scale"]["moto"]["40"]["upload"]["median"] == pytest.approx(1.5)
    table = harness.markdown(result)
    assert "| preprod cold (1 of 3 failed a check) | 200.0 / 300.0 / 400.0 |" in table
    assert "- no-change re-run: 4.0x faster than warm (goal ≥ 5x)" in table
    assert "- preprod cold: 300.0 s median (goal ≤ 90 s)" in table
    assert "- prod: 225.0 s median (goal ≤ 45 s)" in table
    # Stage overlap: scaling every time by the same factor leaves the ratio alone.
    assert cold["wall_over_serial"] == {"min": 0.857, "median": 0.857, "max": 0.857}
    assert "wall ÷ serial sum of its stages: 0.86 median (goal ≤ 0.75)" in table
    assert [s["end"] for s in cold["timeline"]] == [45.0, 30.0, 60.0, 180.0]  # the median run's
    assert cold["critical_path"] == ["unit-test", "apply", "verify"]
    assert "preprod cold, the median run's stages:" in table
    assert "wall 180.0s; stages sum to 210.0s" in table
    assert "wall_over_serial" not in result["promotions"]["preprod warm"]
    assert "- rollback: live restored in 0.75 s median (goal ≤ 5 s)" in table
    assert "byte-reproducible: pipeline yes, zip -r no" in table
    assert "| per-function step, moto | 4 fns | 40 fns | 40 / 4 |" in table
    assert "| upload | 0.150 | 1.500 | 10.0x |" in table


@pytest.fixture(scope="module")
def relayed() -> Iterator[tuple[Target, Target]]:
    server = emulator.start()
    relay, endpoint = latency.start(server.endpoint, 200)
    try:
        yield (Target("emulated", DEFAULT_REGION, server.endpoint),
               Target("emulated", DEFAULT_REGION, endpoint))  # fmt: skip
    finally:
        relay.kill()
        relay.wait()
        server.stop()


def test_the_relay_adds_its_delay_and_changes_nothing_else(
    relayed: tuple[Target, Target],
) -> None:
    direct, slow = relayed
    s3 = slow.client("s3")
    s3.create_bucket(
        Bucket="relay", CreateBucketConfiguration={"LocationConstraint": DEFAULT_REGION}
    )
    body = bytes(range(256)) * 400
    started = time.perf_counter()
    s3.put_object(Bucket="relay", Key="k", Body=body)
    assert time.perf_counter() - started >= 0.2
    assert direct.client("s3").get_object(Bucket="relay", Key="k")["Body"].read() == body
    assert s3.get_object(Bucket="relay", Key="k")["Body"].read() == body
    assert s3.head_object(Bucket="relay", Key="k")["ContentLength"] == len(body)

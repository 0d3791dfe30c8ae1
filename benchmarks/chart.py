"""Draws bench.json as two PNGs: each stage's duration (median, with min-max whiskers), and each
promotion's median run as a Gantt chart with its critical path, so overlapping stages show.
Run by harness.py in an isolated environment that has matplotlib."""

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CRITICAL, OTHER, FAILED = "#c0392b", "#7f8c8d", "#e67e22"


def durations(result: dict[str, Any], target: Path) -> None:
    runs = result["promotions"]
    stages = sorted({s for run in runs.values() for s in run["stages"]})
    figure, axis = plt.subplots(figsize=(11, 5))
    width = 0.8 / len(runs)
    for index, (name, run) in enumerate(runs.items()):
        medians = [run["stages"].get(s, {}).get("median", 0) for s in stages]
        lows = [
            m - run["stages"].get(s, {}).get("min", 0) for s, m in zip(stages, medians, strict=True)
        ]
        highs = [
            run["stages"].get(s, {}).get("max", 0) - m for s, m in zip(stages, medians, strict=True)
        ]
        positions = [i + index * width for i in range(len(stages))]
        axis.bar(positions, medians, width, yerr=[lows, highs], label=name, capsize=2)
    axis.set_xticks([i + 0.4 - width / 2 for i in range(len(stages))], stages, rotation=30)
    axis.set_ylabel("seconds (median, min-max)")
    axis.set_title(f"Stage durations over {result['repetitions']} repetition(s)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def gantt(result: dict[str, Any], target: Path) -> None:
    runs = {name: run for name, run in result["promotions"].items() if run.get("timeline")}
    heights = [max(2, len(run["timeline"])) for run in runs.values()]
    figure, axes = plt.subplots(
        len(runs), 1, figsize=(11, 0.35 * sum(heights) + 1.2 * len(runs)),
        gridspec_kw={"height_ratios": heights}, squeeze=False,
    )  # fmt: skip
    for axis, (name, run) in zip(axes[:, 0], runs.items(), strict=True):
        spans, critical = run["timeline"], set(run.get("critical_path", []))
        for row, span in enumerate(spans):
            color = CRITICAL if span["name"] in critical else OTHER
            if span["status"] != "ok":
                color = FAILED
            axis.barh(row, span["end"] - span["start"], left=span["start"], color=color)
        axis.set_yticks(range(len(spans)), [span["name"] for span in spans])
        axis.invert_yaxis()
        ratio = run.get("wall_over_serial", {}).get("median")
        suffix = f", wall ÷ serial {ratio:.2f}" if ratio else ""
        axis.set_title(f"{name}: median run{suffix} (red: critical path)", loc="left")
        axis.set_xlabel("seconds from the first stage")
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def main(source: Path, out: Path) -> None:
    result = json.loads(source.read_text())
    durations(result, out / "bench.png")
    gantt(result, out / "gantt.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

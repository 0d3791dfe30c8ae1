"""Draws bench.json's stage durations (median, with min-max whiskers) as a PNG.
Run by harness.py in an isolated environment that has matplotlib."""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(source: Path, target: Path) -> None:
    result = json.loads(source.read_text())
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


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

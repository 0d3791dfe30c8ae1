"""Benchmark of `pipeline promote --env preprod` against the embedded emulator.

Three runs in a throwaway clone and state directory:
  cold       a fresh emulator (nothing deployed, nothing cached)
  warm       the same infrastructure, a new commit that changes one Lambda
  no-change  the same commit again
Prints a markdown table and writes JSON next to it. Usage:
  .venv/bin/python benchmarks/promote.py [--out benchmarks/results/promote.json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def promote(clone: Path, state: Path) -> dict:
    env = {**os.environ, "PIPELINE_ROOT": str(clone), "PIPELINE_STATE_DIR": str(state)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "promote", "--env", "preprod", "--json"],
        cwd=clone, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"promote failed ({done.returncode}):\n{done.stderr[-3000:]}")
    outcome = json.loads(done.stdout)
    return {
        "seconds": round(seconds, 1),
        "stages": {s["name"]: s["seconds"] for s in outcome["stages"]},
    }


def commit_change(clone: Path) -> None:
    target = clone / "lambdas" / "dashboard" / "news_dashboard" / "__init__.py"
    target.write_text(target.read_text() + f"# benchmark change {time.time()}\n")
    subprocess.run(
        ["git", "-C", str(clone), "commit", "-qam", "benchmark: change dashboard"], check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "promote.json"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clone, state = Path(tmp) / "repo", Path(tmp) / "state"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        runs = {}
        try:
            runs["cold"] = promote(clone, state)
            commit_change(clone)
            runs["warm"] = promote(clone, state)
            runs["no-change"] = promote(clone, state)
        finally:
            env = {**os.environ, "PIPELINE_ROOT": str(clone), "PIPELINE_STATE_DIR": str(state)}
            subprocess.run([sys.executable, "-m", "pipeline", "emulator", "stop"], cwd=clone,
                           env=env, capture_output=True, check=False)  # fmt: skip
    stages = list(runs["cold"]["stages"])
    print("| run | total s | " + " | ".join(stages) + " |")
    print("|---|---:|" + "---:|" * len(stages))
    for name, run in runs.items():
        cells = " | ".join(f"{run['stages'].get(s, 0):.1f}" for s in stages)
        print(f"| {name} | {run['seconds']:.1f} | {cells} |")
    ratio = runs["warm"]["seconds"] / runs["no-change"]["seconds"]
    print(f"\nno-change re-run is {ratio:.1f}x faster than warm")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"runs": runs, "warm_over_no_change": round(ratio, 2)}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()

"""`./pipeline bench`: every benchmark in one run, side by side, repeated.

Phases, each in a throwaway clone, state directory and emulator:
  promotions   preprod cold, warm (a new commit changing one Lambda) and no-change; then the
               full preprod -> prod promotion of that commit, and a rollback of prod
  packaging    the pipeline's reproducible zips against `zip -r` of the same files
  scale        per-function deployment work for synthetic apps of 4, 16 and 40 functions, against
               moto as it is and behind a relay adding AWS's kind of round trip (latency.py)
Each phase runs `--repeat` times (1 with --quick); figures are min/median/max seconds.
Writes bench.json, bench.md (with a text Gantt chart of each median run), bench.png (stage
durations) and gantt.png (each median run's stages on its time axis) into --out.
"""

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import scale

from pipeline.stages import packaging
from pipeline.state import timeline

REPO = Path(__file__).resolve().parents[1]
CHART_PACKAGES = ["matplotlib==3.10.7"]
SIZES = [4, 16, 40]
# What each call adds: none (moto's CPU alone), and a round trip like a same-region AWS call's.
SCALE_LATENCIES_MS = {"moto": 0.0, "moto + 30 ms round trip": 30.0}


def cli(clone: Path, state: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PIPELINE_ROOT": str(clone), "PIPELINE_STATE_DIR": str(state)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pipeline", *args, "--json"], cwd=clone,
                          env=env, capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.monotonic() - started
    try:
        outcome = json.loads(done.stdout)
    except ValueError:
        raise SystemExit(f"`pipeline {' '.join(args)}` failed:\n{done.stderr[-3000:]}") from None
    # A run that failed a check (the load budget, say) still timed every stage it ran; it is
    # kept and marked, and the phases after it go on as the pipeline allows.
    if done.returncode != 0:
        print(f"`pipeline {' '.join(args)}`: {outcome.get('message', '')}", file=sys.stderr)
    outcome["wall"] = round(wall, 2)
    return outcome


def commit(clone: Path, message: str) -> None:
    init = clone / "lambdas" / "dashboard" / "news_dashboard" / "__init__.py"
    init.write_text(init.read_text() + f"# {message} {time.time_ns()}\n")
    git = ["git", "-C", str(clone), "-c", "user.name=bench", "-c", "user.email=bench@example.org"]
    subprocess.run([*git, "commit", "-qam", message], check=True)


def promotions() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        clone, state = Path(tmp) / "repo", Path(tmp) / "state"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        runs: dict[str, Any] = {}
        try:
            runs["preprod cold"] = cli(clone, state, "promote", "--env", "preprod")
            cli(clone, state, "promote", "--env", "prod", "--approve", "bench: first prod")
            commit(clone, "bench: warm")
            runs["preprod warm"] = cli(clone, state, "promote", "--env", "preprod")
            runs["preprod no-change"] = cli(clone, state, "promote", "--env", "preprod")
            runs["prod"] = cli(clone, state, "promote", "--env", "prod", "--approve", "bench: go")
            runs["rollback"] = cli(clone, state, "rollback", "--env", "prod")
        finally:
            env = {**os.environ, "PIPELINE_ROOT": str(clone), "PIPELINE_STATE_DIR": str(state)}
            subprocess.run([sys.executable, "-m", "pipeline", "emulator", "stop"], cwd=clone,
                           env=env, capture_output=True, check=False)  # fmt: skip
    figures = {}
    for name, outcome in runs.items():
        stages = {s["name"]: s["seconds"] for s in outcome.get("stages", [])}
        spans = timeline.spans(outcome.get("stages", []))
        figures[name] = {"total": outcome["wall"], "stages": stages,
                         "result": outcome.get("result", "failed"),
                         "timeline": [asdict(span) for span in spans]}  # fmt: skip
    figures["rollback"]["restore"] = runs["rollback"]["seconds"]
    return figures


def packaging_vs_zip() -> dict[str, Any]:
    """Both archivers over the same files: each function's sources and unpacked wheels."""
    ours = baseline = 0.0
    reproducible = {"pipeline": True, "zip -r": True}
    with tempfile.TemporaryDirectory() as tmp:
        for function in packaging.functions(REPO):
            wheels = packaging.fetch_wheels(
                REPO / "lambdas" / function / "requirements.txt", Path(tmp) / "wheels"
            )
            started = time.perf_counter()
            first = packaging.build_zip(REPO, function, wheels)
            ours += time.perf_counter() - started
            reproducible["pipeline"] &= first == packaging.build_zip(REPO, function, wheels)
            tree = Path(tmp) / "tree" / function
            with zipfile.ZipFile(io.BytesIO(first)) as archive:
                archive.extractall(tree)
            outputs = []
            for attempt in range(2):
                for path in tree.rglob("*"):
                    os.utime(path, (time.time() + attempt, time.time() + attempt))
                target = Path(tmp) / f"{function}-{attempt}.zip"
                started = time.perf_counter()
                subprocess.run(["zip", "-q", "-r", str(target), "."], cwd=tree, check=True)
                baseline += (time.perf_counter() - started) if attempt == 0 else 0.0
                outputs.append(target.read_bytes())
            reproducible["zip -r"] &= outputs[0] == outputs[1]
            shutil.rmtree(tree)
    return {"pipeline": round(ours, 3), "zip -r": round(baseline, 3),
            "ratio": round(ours / baseline, 2), "reproducible": reproducible}  # fmt: skip


def spread(samples: list[float]) -> dict[str, float]:
    return {"min": round(min(samples), 3), "median": round(statistics.median(samples), 3),
            "max": round(max(samples), 3)}  # fmt: skip


def overlap(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Wall time over the stages' serial sum, per repetition, and the median run's timeline with
    its critical path: what the Gantt charts draw."""
    timelines = [[timeline.Span(**span) for span in r.get("timeline", [])] for r in runs]
    ratios = [ratio for spans in timelines if (ratio := timeline.wall_over_serial(spans))]
    if not ratios:
        return {}
    median = sorted(range(len(runs)), key=lambda i: runs[i]["total"])[len(runs) // 2]
    spans = timelines[median]
    return {
        "wall_over_serial": spread(ratios),
        "timeline": [asdict(span) for span in spans],
        "critical_path": timeline.critical_path(spans),
    }


def summarise(repeats: list[dict[str, Any]]) -> dict[str, Any]:
    promotion_names = list(repeats[0]["promotions"])
    result: dict[str, Any] = {"promotions": {}, "packaging": {}, "scale": {}}
    for name in promotion_names:
        runs = [r["promotions"][name] for r in repeats]
        stages = list(runs[0]["stages"])
        result["promotions"][name] = {
            "results": [r["result"] for r in runs],
            "total": spread([r["total"] for r in runs]),
            "stages": {s: spread([r["stages"].get(s, 0.0) for r in runs]) for s in stages},
            **overlap(runs),
        }
    result["promotions"]["rollback"]["restore"] = spread(
        [r["promotions"]["rollback"]["restore"] for r in repeats]
    )
    for key in ("pipeline", "zip -r", "ratio"):
        result["packaging"][key] = spread([r["packaging"][key] for r in repeats])
    result["packaging"]["reproducible"] = repeats[0]["packaging"]["reproducible"]
    for variant, sizes in repeats[0]["scale"].items():
        result["scale"][variant] = {
            size: {step: spread([r["scale"][variant][size][step] for r in repeats])
                   for step in steps}
            for size, steps in sizes.items()
        }  # fmt: skip
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = ["| run | total s (min / median / max) | slowest stages (median s) |", "|---|---|---|"]
    for name, run in result["promotions"].items():
        total = run["total"]
        slow = sorted(run["stages"].items(), key=lambda kv: -kv[1]["median"])[:4]
        stages = ", ".join(f"{s} {v['median']:.1f}" for s, v in slow)
        failed = sum(r != "ok" for r in run["results"])
        mark = f" ({failed} of {len(run['results'])} failed a check)" if failed else ""
        lines.append(f"| {name}{mark} | {total['min']:.1f} / {total['median']:.1f} / "
                     f"{total['max']:.1f} | {stages} |")  # fmt: skip
    promotions = result["promotions"]
    restore = promotions["rollback"]["restore"]
    cold = promotions["preprod cold"]
    warm = promotions["preprod warm"]["total"]["median"]
    same = promotions["preprod no-change"]["total"]["median"]
    pack = result["packaging"]
    ratio = cold.get("wall_over_serial", {}).get("median")
    lines += [
        "",
        f"- preprod cold: {cold['total']['median']:.1f} s median (goal ≤ 90 s)",
        f"- preprod warm: {warm:.1f} s median (goal ≤ 35 s)",
        f"- no-change re-run: {warm / same:.1f}x faster than warm (goal ≥ 5x)",
        f"- prod: {promotions['prod']['total']['median']:.1f} s median (goal ≤ 45 s)",
        "- preprod cold, wall ÷ serial sum of its stages: "
        + (f"{ratio:.2f} median (goal ≤ 0.75)" if ratio else "not recorded"),
        f"- rollback: live restored in {restore['median']:.2f} s median (goal ≤ 5 s)",
        f"- packaging: {pack['pipeline']['median']:.2f} s vs zip -r {pack['zip -r']['median']:.2f}"
        f" s, ratio {pack['ratio']['median']:.2f} (goal ≤ 1.5); byte-reproducible: "
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in pack["reproducible"].items()),
    ]
    for variant, figures in result["scale"].items():
        sizes = list(figures)
        lines += [
            "",
            f"| per-function step, {variant} | "
            + " | ".join(f"{n} fns" for n in sizes)
            + f" | {sizes[-1]} / {sizes[0]} |",
            "|---|" + "---:|" * (len(sizes) + 1),
        ]
        for step in figures[sizes[0]]:
            medians = [figures[n][step]["median"] for n in sizes]
            cells = " | ".join(f"{m:.3f}" for m in medians)
            lines.append(f"| {step} | {cells} | {medians[-1] / medians[0]:.1f}x |")
    for name, run in promotions.items():
        if run.get("timeline"):
            chart = timeline.render([timeline.Span(**span) for span in run["timeline"]])
            lines += ["", f"{name}, the median run's stages:", "", "```", chart, "```"]
    return "\n".join(lines) + "\n"


def charts(json_path: Path, out: Path) -> str:
    """bench.png and gantt.png, drawn by matplotlib in its own uv environment."""
    uv = os.environ.get("PIPELINE_UV") or shutil.which("uv") or "uv"
    done = subprocess.run(
        [uv, "run", "--no-project", *[f"--with={p}" for p in CHART_PACKAGES], "python",
         str(Path(__file__).with_name("chart.py")), str(json_path), str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return "written" if done.returncode == 0 else f"not drawn: {done.stderr.strip()[-300:]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition of each phase")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    repeats = []
    for index in range(1 if args.quick else args.repeat):
        print(f"repetition {index + 1}", file=sys.stderr)
        repeats.append({
            "promotions": promotions(),
            "packaging": packaging_vs_zip(),
            "scale": {name: scale.run(SIZES, ms) for name, ms in SCALE_LATENCIES_MS.items()},
        })  # fmt: skip
    result = summarise(repeats)
    result["repetitions"] = len(repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (args.out / "bench.md").write_text(table)
    print(table)
    drawn = charts(args.out / "bench.json", args.out)
    print(f"charts {drawn}: {args.out}/bench.png, {args.out}/gantt.png")


if __name__ == "__main__":
    main()

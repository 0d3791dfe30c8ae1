"""`pipeline replay RUN.json`: re-run a recorded promotion offline and report where it diverges.

The recorded sha is checked out in a temporary git worktree, whose own pipeline code, Lambdas,
Terraform and tests run against a fresh emulator, with the recorded gate inputs (event, commits,
metadata, policy and decision time) and approvals. Environments before the recorded one are
promoted first, since a fresh emulator has no history. This is how a red CI run is reproduced on
a laptop."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.adapters import emulator
from pipeline.errors import RefusedError, UsageError
from pipeline.promotion import first
from pipeline.state import project, run_record

PROMOTE_TIMEOUT = 1800


def load_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the run record {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{path} is not valid JSON ({exc}); pass the run.json CI uploaded, unmodified"
        ) from None
    if not isinstance(record, dict) or record.get("schema") != run_record.SCHEMA:
        raise UsageError(f"{path} is not a pipeline run record (schema {run_record.SCHEMA})")
    inputs = record.get("inputs")
    if record.get("command") != "promote" or not isinstance(inputs, dict):
        raise UsageError(f"{path} records a {record.get('command')!r} run; only promotions replay")
    if not isinstance(inputs.get("env"), str) or not isinstance(inputs.get("sha"), str):
        raise UsageError(f"{path} has no env or sha in its inputs; it cannot be replayed")
    if not isinstance(record.get("stages"), list):
        raise UsageError(f"{path} has no stages list; it cannot be compared")
    return record


def outcomes(stages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(name, status) of each stage up to the first that did not pass. The first environment's
    stages are put in the order its graph declares them: concurrent stages end in either order,
    and whether one beside the failing stage got to start is timing, not code, so neither is
    compared. A follow-on environment's stages run one after another, as recorded."""
    names = [str(s.get("name")) for s in stages]
    ordered = stages
    if set(names) <= set(first.STAGE_ORDER):
        ordered = sorted(stages, key=lambda s: first.STAGE_ORDER.index(str(s.get("name"))))
    result = []
    for stage in ordered:
        result.append((str(stage.get("name")), str(stage.get("status"))))
        if result[-1][1] != "ok":
            break
    return result


def first_difference(recorded: list[tuple[str, str]], replayed: list[tuple[str, str]]):
    """Index, recorded and replayed (name, status) of the first stage that differs, or None."""
    for index in range(max(len(recorded), len(replayed))):
        mine = recorded[index] if index < len(recorded) else None
        theirs = replayed[index] if index < len(replayed) else None
        if mine != theirs:
            return {"index": index, "recorded": mine, "replayed": theirs}
    return None


def _promote_args(env: str, inputs: dict[str, Any], scratch: Path) -> list[str]:
    args = ["promote", "--env", env, "--target", "emulated", "--json"]
    captured = inputs.get("gate")
    if captured:
        for name in ("event", "commits", "metadata"):
            if captured.get(name) is not None:
                path = scratch / f"{name}.json"
                path.write_text(json.dumps(captured[name]))
                args += [f"--{name}", str(path)]
        policy = scratch / "policy.yaml"
        policy.write_text(str(captured.get("policy", "")))
        args += ["--policy", str(policy), "--at", str(captured.get("at"))]
    for flag in ("approve", "unquarantine"):
        given = inputs.get(flag)
        if given:
            args += [f"--{flag}", f"{given['approver']}: {given['reason']}"]
    return args


def _run(worktree: Path, args: list[str]) -> dict[str, Any]:
    environ = {
        **os.environ,
        "PIPELINE_ROOT": str(worktree),
        "PIPELINE_STATE_DIR": str(worktree / ".pipeline"),
        "PYTHONPATH": str(worktree / "ci" / "src"),  # the recorded sha's own pipeline code
    }
    environ.pop("GITHUB_STEP_SUMMARY", None)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=worktree, env=environ, capture_output=True, text=True, timeout=PROMOTE_TIMEOUT,
        check=False,
    )  # fmt: skip
    try:
        return json.loads(done.stdout)
    except ValueError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"exit_code": done.returncode, "stages": [], "message": tail}


def replay(repo: Path, state: Path, record_path: Path) -> dict[str, Any]:
    record = load_record(record_path)
    inputs = record["inputs"]
    sha, env = inputs["sha"], inputs["env"]
    if sha.endswith("-dirty"):
        raise RefusedError(
            f"the recorded run built uncommitted changes ({sha}); their source is not in git, so "
            "it cannot be replayed. Replay a run of a committed sha"
        )
    known = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{sha}^{{commit}}"],
                           capture_output=True, check=False)  # fmt: skip
    if known.returncode != 0:
        raise UsageError(f"commit {sha[:12]} is not in this clone; `git fetch origin {sha}` first")
    scratch = Path(tempfile.mkdtemp(prefix="pipeline-replay-"))
    worktree = scratch / "worktree"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "-q",
                    str(worktree), sha], check=True, capture_output=True)  # fmt: skip
    keep = state / "replays" / str(record.get("id"))
    try:
        order = project.promotion_order(worktree)
        order.predecessor(env)  # refuses an environment the recorded commit does not promote to
        for before in order.order[: order.order.index(env)]:
            upstream = _run(worktree, ["promote", "--env", before, "--target", "emulated",
                                       "--json"])  # fmt: skip
            if upstream.get("exit_code") != 0:
                return {
                    "recorded_run": record.get("id"), "sha": sha, "env": env,
                    "reproduced": False,
                    "message": f"could not rebuild {before} first: {upstream.get('message')}",
                }  # fmt: skip
        replayed = _run(worktree, _promote_args(env, inputs, scratch))
        if replayed.get("run_record"):
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(replayed["run_record"], keep / "run.json")
    finally:
        emulator.stop_background(worktree / ".pipeline")
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(worktree)],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(scratch, ignore_errors=True)
    recorded_stages = outcomes(record["stages"])
    replayed_stages = outcomes(replayed.get("stages", []))
    difference = first_difference(recorded_stages, replayed_stages)
    failing = next((s for s in recorded_stages if s[1] != "ok"), None)
    return {
        "recorded_run": record.get("id"),
        "sha": sha,
        "env": env,
        "reproduced": difference is None,
        "first_difference": difference,
        "recorded_failing_stage": failing[0] if failing else None,
        "replayed_failing_stage": next((s[0] for s in replayed_stages if s[1] != "ok"), None),
        "replayed_message": replayed.get("message"),
        "replay_record": str(keep / "run.json") if replayed.get("run_record") else None,
    }

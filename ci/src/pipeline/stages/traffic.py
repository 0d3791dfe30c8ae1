"""Moving `live` progressively with weighted alias routing, and putting it back.

Each step sends a share of every function's traffic to the new version; after each step the
caller verifies and watches alarms for the soak period. A function whose version does not change
is moved straight to it. Alias updates are independent per function, so they run concurrently;
restoring `live` is the same call, which is why a rollback takes about a second."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.adapters.target import Target
from pipeline.concurrency import map_threads
from pipeline.errors import StageFailedError, UsageError
from pipeline.stages.deploy import ALIAS
from pipeline.state import project

DEFAULTS = {
    "steps": [10, 100],
    "soak_seconds": {"emulated": 4, "aws": 300},
    "watch_seconds": {"emulated": 4, "aws": 600},
    "check_interval_seconds": {"emulated": 1, "aws": 30},
    "lock_minutes": 60,
}


@dataclass(frozen=True)
class Plan:
    steps: list[int]
    soak_seconds: float
    watch_seconds: float
    check_interval: float
    lock_seconds: float


def load_plan(repo: Path, kind: str) -> Plan:
    """`[tool.newsflow.traffic]`: seconds in the emulator, minutes' worth on AWS."""
    raw = {**DEFAULTS, **project.settings(repo).get("traffic", {})}
    try:
        steps = [int(step) for step in raw["steps"]]
        plan = Plan(
            steps=steps,
            soak_seconds=float(raw["soak_seconds"][kind]),
            watch_seconds=float(raw["watch_seconds"][kind]),
            check_interval=float(raw["check_interval_seconds"][kind]),
            lock_seconds=float(raw["lock_minutes"]) * 60,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"[tool.newsflow.traffic] in pyproject.toml is malformed ({exc}); see README, "
            "'Production promotion'"
        ) from None
    if not steps or steps != sorted(set(steps)) or steps[0] <= 0 or steps[-1] != 100:
        raise UsageError(
            "[tool.newsflow.traffic] steps must be increasing percentages ending at 100, "
            f"e.g. [10, 100]; got {steps}"
        )
    return plan


def _route(lam: Any, name: str, stable: str, candidate: str, percent: int) -> None:
    if percent >= 100 or stable == candidate:
        main, weights = candidate, {}
    else:
        main, weights = stable, {candidate: percent / 100}
    lam.update_alias(
        FunctionName=name,
        Name=ALIAS,
        FunctionVersion=main,
        RoutingConfig={"AdditionalVersionWeights": weights},
    )


def shift(
    target: Target,
    names: dict[str, str],
    stable: dict[str, str],
    candidate: dict[str, str],
    percent: int,
) -> None:
    """Route `percent` of each function's `live` traffic to its candidate version. One client
    serves every thread: boto3 clients are thread-safe, and creating one costs ~50 ms of CPU."""
    lam = target.client("lambda")
    map_threads(
        _route, [(lam, names[fn], stable[fn], candidate[fn], percent) for fn in sorted(names)]
    )


def restore(target: Target, names: dict[str, str], versions: dict[str, str]) -> float:
    """Point `live` fully back at `versions`; returns how long it took, in seconds."""
    started = time.monotonic()
    shift(target, names, versions, versions, 100)
    return time.monotonic() - started


def routing(target: Target, names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each function's alias: its main version and any weighted extra version."""
    lam = target.client("lambda")
    found = {}
    for fn, name in sorted(names.items()):
        alias = lam.get_alias(FunctionName=name, Name=ALIAS)
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        found[fn] = {"version": alias["FunctionVersion"], "weights": weights}
    return found


def watch(seconds: float, interval: float, check: Callable[[], list[str]], what: str) -> int:
    """Call `check` every `interval` for `seconds`; raise on the first problem it reports.
    Returns how many checks passed."""
    deadline = time.monotonic() + seconds
    checks = 0
    while True:
        problems = check()
        if problems:
            raise StageFailedError(f"{what}: {', '.join(problems)} in ALARM")
        checks += 1
        if time.monotonic() >= deadline:
            return checks
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

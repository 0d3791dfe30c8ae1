"""The verify stage: the integration suite, then the canary suite, against a deployed environment.

The suites are the sha's own `tests/verify/integration` and `tests/verify/canary`, run by
pytest in a child process and told their target through NEWSFLOW_* variables (see
tests/verify/deployed.py), so the same suites run against real AWS. For an emulated target this
stage also brings up what AWS would provide: the dashboard's Function URL (a local shim over the
emulated runtime) and, in place of the internet, the fake NewsAPI with the environment's key."""

import contextlib
import json
import os
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.adapters.fake_newsapi import FakeNewsApi, load_scenarios
from pipeline.adapters.target import Target
from pipeline.adapters.terraform import backend
from pipeline.errors import StageFailedError
from pipeline.runtime.function_url import FunctionUrl
from pipeline.runtime.functions import Runtime
from pipeline.stages.suites import pytest_command, pytest_environ
from pipeline.state.stage_log import StageLog

SUITES = ("integration", "canary")
# Tests that page someone on purpose (the canary's alert test) never run against prod.
NOT_DISRUPTIVE = "not disruptive"


@dataclass(frozen=True)
class Scope:
    """What a verification runs, and against which version of the dashboard."""

    suites: tuple[str, ...] = SUITES
    qualifier: str = "live"  # the dashboard version the emulated Function URL serves
    shas: tuple[str, ...] = ()  # the versions /health may report
    markers: str = ""  # a pytest -m expression


SUITE_TIMEOUT = 600.0
# Enough failures to diagnose a broken release without waiting out every test's redrive.
MAX_FAILURES = 3


@dataclass
class SuiteResult:
    name: str
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "test id: why"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and self.passed > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.name,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": len(self.skipped),
            "skipped_tests": self.skipped,
            "seconds": round(self.seconds, 3),
        }


def junit_results(name: str, path: Path) -> SuiteResult:
    """Passed, failed and skipped test ids from pytest's JUnit XML."""
    result = SuiteResult(name)
    try:
        root = ElementTree.parse(path).getroot()  # noqa: S314 - our own pytest's report
    except (OSError, ElementTree.ParseError):
        result.failed.append(f"tests/verify/{name}: pytest produced no report (collection failed?)")
        return result
    for case in root.iter("testcase"):
        test_id = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            result.failed.append(test_id)
        elif (skipped := case.find("skipped")) is not None:
            result.skipped.append(f"{test_id}: {skipped.get('message') or 'no reason given'}")
        else:
            result.passed += 1
    return result


def suite_environment(
    env: str, shas: tuple[str, ...], tgt: Target, run_dir: Path, dashboard_url: str, secret: str
) -> dict[str, str]:
    environ = {
        **os.environ,
        "NEWSFLOW_ENV": env,
        "NEWSFLOW_SHA": ",".join(shas),
        "NEWSFLOW_RESULTS_DIR": str(run_dir),
        "NEWSFLOW_REGION": tgt.region,
        "NEWSFLOW_OUTPUTS": str(run_dir / "outputs.json"),
        "NEWSFLOW_DASHBOARD_URL": dashboard_url,
        "NEWSFLOW_DASHBOARD_KEY_SECRET": secret,
    }
    for name in ("NEWSFLOW_AWS_ENDPOINT", "NEWSFLOW_NEWSAPI_URL", "NEWSFLOW_STATE_DIR"):
        environ.pop(name, None)
    if tgt.kind == "emulated":
        # The suites act as the pipeline does: the environment's deployer role.
        environ.pop("AWS_SESSION_TOKEN", None)
        environ.update(tgt.environ())
    return environ


def run_suite(
    repo: Path, name: str, environ: dict[str, str], run_dir: Path, log: StageLog, markers: str
) -> SuiteResult:
    report = run_dir / f"{name}.xml"
    started = time.monotonic()
    command = pytest_command(f"tests/verify/{name}", "-q", "-rfE", "--tb=short",
                             f"--maxfail={MAX_FAILURES}", f"--junitxml={report}")  # fmt: skip
    if markers:
        command += ["-m", markers]
    try:
        done = subprocess.run(
            command, cwd=repo, env=pytest_environ(environ), capture_output=True, text=True,
            timeout=SUITE_TIMEOUT, check=False,
        )  # fmt: skip
        log.write(f"$ pytest tests/verify/{name}\n{done.stdout}{done.stderr}")
    except subprocess.TimeoutExpired:
        log.write(f"$ pytest tests/verify/{name}: no result after {SUITE_TIMEOUT:.0f}s, stopped")
    result = junit_results(name, report)
    result.seconds = time.monotonic() - started
    return result


def verify(
    repo: Path, state: Path, env: str, tgt: Target, outputs: dict[str, Any], run_dir: Path,
    log: StageLog, scope: Scope,
) -> list[SuiteResult]:  # fmt: skip
    """Run the suites in order; each runs only once the one before it has passed."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "outputs.json").write_text(json.dumps(outputs, indent=2))
    secret = outputs["secret_names"]["dashboard"]
    results: list[SuiteResult] = []
    with contextlib.ExitStack() as stack:
        if tgt.kind == "emulated":
            # The fake NewsAPI is the test harness's, set up as the operator would NewsAPI's key.
            keys = backend.emulated_keys(repo, state, env, tgt.administrator())
            newsapi_key = keys["newsapi"]
            fake = FakeNewsApi(load_scenarios(repo / "fixtures" / "newsapi"), newsapi_key)
            stack.callback(fake.start().stop)
            runtime = stack.enter_context(Runtime(tgt, env, state))
            dashboard = outputs["function_names"]["dashboard"]
            shim = stack.enter_context(FunctionUrl(runtime, dashboard, scope.qualifier))
            environ = suite_environment(env, scope.shas, tgt, run_dir, shim.url, secret)
            environ.update(
                NEWSFLOW_AWS_ENDPOINT=str(tgt.endpoint),
                NEWSFLOW_NEWSAPI_URL=fake.base_url,
                NEWSFLOW_STATE_DIR=str(state),
            )
        else:
            environ = suite_environment(
                env, scope.shas, tgt, run_dir, outputs["dashboard_url"], secret
            )
        for name in scope.suites:
            result = run_suite(repo, name, environ, run_dir, log, scope.markers)
            results.append(result)
            if not result.ok:
                break
    failed = [test for result in results for test in result.failed]
    if failed or not all(result.ok for result in results):
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        raise StageFailedError(
            f"verify failed for {env}: {shown or 'a suite ran no test'}; the artifact is not "
            "validated. The test output is in the run record's log tail"
        )
    skipped = [test for result in results for test in result.skipped]
    if skipped:
        raise StageFailedError(
            f"verify for {env}: {len(skipped)} tests skipped, and a skipped test validates "
            f"nothing, so the artifact is not validated: {'; '.join(skipped[:3])}"
            + (f" and {len(skipped) - 3} more (see the run record)" if len(skipped) > 3 else "")
        )
    log.detail = ", ".join(f"{r.name} {r.passed} passed" for r in results)
    load = load_report(run_dir)
    if load:
        log.detail += (
            f"; dashboard p95 {load['p95_ms']} ms over {load['requests']} requests "
            f"(budget {load['budget_p95_ms']} ms)"
        )
    return results


def load_report(run_dir: Path) -> dict[str, Any] | None:
    """The integration suite's load-check figures, when it ran."""
    try:
        return json.loads((run_dir / "load.json").read_text())
    except (OSError, ValueError):
        return None

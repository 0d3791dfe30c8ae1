"""The `pipeline` command line: parses arguments, runs a verb, maps errors to exit codes.

Exit codes: 0 ok, 1 a stage failed, 2 bad input or usage, 3 refused by the gate or a precondition.
"""

import argparse
import json
import shutil
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.access import scenario
from pipeline.adapters import emulator, target
from pipeline.cli import console, suite
from pipeline.errors import PipelineError, result_of
from pipeline.gate import inputs
from pipeline.promotion import job_summary, orchestrator, replay, rollback, verbs
from pipeline.promotion.recorded import Outcome
from pipeline.reports import history, metrics, status
from pipeline.stages import dependency_audit
from pipeline.state import project, timeline
from pipeline.state.ledger import Ledger

ABOUT = """\
Promote newsflow's Lambdas through the environments of terraform/environments/*.tfvars, in
promotion_order: a pull request's gate decision, unit tests, one reproducible package, terraform
apply, verification, then the same bytes to each following environment with progressive traffic
and automatic rollback. Runs against an AWS emulator it starts itself, or AWS (--target aws)."""

# The verbs `--help` lists, by what a person is doing.
GROUPS = {
    "promote and release": ["promote", "gate", "package", "apply", "verify"],
    "inspect": ["status", "history", "metrics"],
    "recover": ["rollback", "replay", "emulator"],
    "operate": ["rotate-secret"],
    "develop": ["test", "unit-test", "audit", "bench", "check-iam"],
}
EXAMPLES = """\
examples:
  ./pipeline promote --env preprod   # gate, test, package, apply, deploy and verify preprod
  ./pipeline promote --env prod --approve "alice: reviewed PR 42"   # the validated bytes, to prod
  ./pipeline rollback --env prod     # live back to the previous good deployment
  ./pipeline replay run/run.json     # re-run a red CI run's record against a fresh emulator
  ./pipeline test                    # this repository's whole test suite, ruff, coverage floors

exit codes: 0 ok, 1 a stage failed, 2 bad input or usage, 3 refused by the gate or a
precondition. `./pipeline VERB --help` describes a verb."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors name the fix and exit 2 without a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        command = " ".join(["./pipeline", *self.prog.split()[1:]])
        console.error(f"{message} (see `{command} --help`)")
        raise SystemExit(2)


def _emit(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    if getattr(args, "json", False):
        console.out.print_json(json.dumps(payload, default=str))


def cmd_test(args: argparse.Namespace) -> int:
    return suite.run(project.root(), args.pytest_args)


def cmd_bench(args: argparse.Namespace) -> int:
    """The benchmark harness (benchmarks/harness.py) in this environment."""
    repo = project.root()
    command = [sys.executable, str(repo / "benchmarks" / "harness.py"), "--out", str(args.out)]
    command += ["--quick"] if args.quick else ["--repeat", str(args.repeat)]
    return subprocess.run(command, cwd=repo, check=False).returncode


def cmd_unit_test(args: argparse.Namespace) -> int:
    return _report(args, verbs.unit_test(project.root(), console.progress), "unit tests")


def cmd_audit(args: argparse.Namespace) -> int:
    """0 when the database answered and named nothing, 1 when it named advisories; a skip is 0
    too (an unreachable database is not the code's fault) but says so, and is never "clean"."""
    report = dependency_audit.audit(project.root())
    if args.json:
        print(json.dumps({"status": report.status, "packages": report.packages,
                          "lock_files": report.lock_files, "findings": report.findings,
                          "reason": report.reason}, indent=2))  # fmt: skip
    if report.status == "vulnerable":
        console.error(report.message())
        return 1
    console.err.print(report.message())
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    try:
        return _promote(args)
    except PipelineError as exc:
        if args.export:  # a refusal before the run began still answers the caller
            export_failure(args.export, args.env, exc.exit_code, str(exc))
        raise


def _promote(args: argparse.Namespace) -> int:
    repo = project.root()
    project.check_environment(repo, args.env)
    decision, captured = None, None
    if args.event:
        # One moment for the decision and its record, so a replay decides as of the same time.
        at = args.at or inputs.parse_time(None).isoformat()
        files = inputs.Files.from_args(args, at)
        decision = inputs.from_files(repo, files)
        captured = inputs.capture(repo, files)
    approval = inputs.parse_approval(args.approve)
    unquarantine = inputs.parse_approval(args.unquarantine, "--unquarantine")
    break_lock = inputs.parse_approval(args.break_lock, "--break-lock")
    outcome = orchestrator.promote(
        repo, args.env, console.progress, args.target, decision, approval, unquarantine, captured,
        break_lock, args.artifacts,
    )  # fmt: skip
    return _report(args, outcome, "promotion")


def _report(args: argparse.Namespace, outcome: Outcome, title: str) -> int:
    """The closing table, the run record's path, --json and --export, for every run verb."""
    console.summary(title, [outcome.summary_row()])
    console.err.print(f"run record: {outcome.record_path}")
    _emit(args, outcome.to_json())
    if getattr(args, "export", None):
        export(args.export, outcome)
    return outcome.exit_code


def export(directory: Path, outcome: Outcome) -> None:
    """run.json, outcome.json and summary.md in one directory, for CI to upload."""
    directory.mkdir(parents=True, exist_ok=True)
    record = json.loads(outcome.record_path.read_text())
    (directory / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    (directory / "outcome.json").write_text(json.dumps(outcome.to_json(), indent=2) + "\n")
    (directory / "summary.md").write_text(job_summary.promotion_markdown(record) + "\n")


def export_failure(directory: Path, env: str, exit_code: int, message: str) -> None:
    """outcome.json and summary.md for a promotion that ended before its run record could be
    exported (refused before it began, or an internal error), so a caller still has them."""
    directory.mkdir(parents=True, exist_ok=True)
    outcome = {"env": env, "result": result_of(exit_code), "exit_code": exit_code,
               "message": message, "run_record": None}  # fmt: skip
    (directory / "outcome.json").write_text(json.dumps(outcome, indent=2) + "\n")
    (directory / "summary.md").write_text(f"### promotion to {env}: {outcome['result']}\n\n"
                                          f"{message}\n")  # fmt: skip


def cmd_package(args: argparse.Namespace) -> int:
    return _report(args, verbs.package(project.root(), console.progress, args.out), "package")


def cmd_apply(args: argparse.Namespace) -> int:
    repo = project.root()
    project.check_environment(repo, args.env)
    outcome = verbs.apply(repo, args.env, console.progress, args.target, args.artifacts)
    return _report(args, outcome, "apply")


def cmd_verify(args: argparse.Namespace) -> int:
    repo = project.root()
    project.check_environment(repo, args.env)
    outcome = verbs.verify_live(repo, args.env, console.progress, args.target)
    return _report(args, outcome, "verify")


def cmd_rotate_secret(args: argparse.Namespace) -> int:
    repo = project.root()
    project.check_environment(repo, args.env)
    outcome = verbs.rotate_secret(repo, args.env, args.name, console.progress, args.target)
    return _report(args, outcome, "rotate-secret")


def cmd_gate(args: argparse.Namespace) -> int:
    repo = project.root()
    decision = inputs.from_files(repo, inputs.Files.from_args(args))
    levels = ", ".join(f"{env} [bold]{level}[/]" for env, level in decision.levels.items())
    console.err.print(f"{levels} (GitHub environment {decision.environment})")
    for reason in decision.reasons:
        console.err.print(f"  - {reason}")
    console.out.print_json(json.dumps(decision.to_json()))
    job_summary.append(
        "### gate: "
        + ", ".join(f"{env} `{level}`" for env, level in decision.levels.items())
        + "\n\n"
        + "\n".join(f"- {reason}" for reason in decision.reasons)
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    rows = status.status(project.root(), args.target)
    for row in rows:
        console.err.print(f"[bold]{row['env']}[/] ({row['target']}): {row['state']}")
        if "sha" in row:
            console.err.print(
                f"  live {row['sha'][:12]} by {row['deployed_by']} at {row['deployed_at']}"
            )
            approver = f", approved by {row['approver']}" if row.get("approver") else ""
            console.err.print(f"  decision {row.get('decision') or '-'}{approver}")
            for fn, version in sorted(row["versions"].items()):
                digest = row["digests"].get(fn, "?")
                console.err.print(f"  {fn:<10} v{version:<4} sha256 {digest[:16]}…")
            console.err.print(f"  validated: {', '.join(s[:12] for s in row['validated']) or '-'}")
            if row["quarantined"]:
                console.err.print(f"  quarantined: {', '.join(s[:12] for s in row['quarantined'])}")
            if row["locked_by"]:
                console.err.print(f"  locked by {row['locked_by']['owner']}")
    job_summary.append("### status\n\n" + job_summary.table(
        ["env", "state", "live sha", "deployed by", "at"],
        [[r["env"], r["state"], str(r.get("sha", "-"))[:12], r.get("deployed_by", "-"),
          r.get("deployed_at", "-")] for r in rows],
    ))  # fmt: skip
    _emit(args, {"environments": rows})
    return 0


def cmd_check_iam(args: argparse.Namespace) -> int:
    outcome = scenario.check(project.root(), console.progress)
    (console.err.print if outcome.exit_code == 0 else console.error)(outcome.message)
    console.err.print(f"run record: {outcome.record_path}")
    _emit(args, json.loads(outcome.record_path.read_text()))  # the report is in the record
    return outcome.exit_code


def cmd_rollback(args: argparse.Namespace) -> int:
    repo = project.root()
    project.check_environment(repo, args.env)
    break_lock = inputs.parse_approval(args.break_lock, "--break-lock")
    outcome = rollback.rollback(repo, args.env, args.to, console.progress, args.target, break_lock)
    (console.err.print if outcome.exit_code == 0 else console.error)(outcome.message)
    console.err.print(f"run record: {outcome.record_path}")
    _emit(args, outcome.to_json())
    return outcome.exit_code


def cmd_history(args: argparse.Namespace) -> int:
    repo = project.root()
    project.check_environment(repo, args.env)
    rows = history.history(repo, args.env, args.target, args.limit)
    table = [
        {"when": r["finished_at"], "kind": r["kind"], "sha": str(r["sha"])[:12],
         "result": r["result"], "who": r["who"],
         "versions": ", ".join(f"{k}:{v}" for k, v in sorted(r["versions"].items()))}
        for r in rows
    ]  # fmt: skip
    console.summary(f"{args.env} history", table) if table else console.err.print("no entries")
    job_summary.append(f"### {args.env} history\n\n" + job_summary.table(
        ["when", "kind", "sha", "result", "who"],
        [[r["when"], r["kind"], r["sha"], r["result"], r["who"]] for r in table],
    ))  # fmt: skip
    _emit(args, {"env": args.env, "entries": rows})
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    repo = project.root()
    env = project.check_environment(repo, args.env or project.promotion_order(repo).last)
    tgt = target.resolve(repo, project.state_dir(repo), env, args.target, start=False)
    ledger = Ledger(tgt, env) if tgt else None
    entries = ledger.deployments() if ledger and ledger.exists() else []
    figures = {"env": env, **metrics.dora(entries)}
    console.summary(
        f"DORA metrics ({env})", [{"metric": k, "value": v} for k, v in figures.items()]
    )
    job_summary.append(f"### DORA metrics ({env})\n\n" + job_summary.table(
        ["metric", "value"], [[k, v] for k, v in figures.items()]))  # fmt: skip
    _emit(args, figures)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    repo = project.root()
    result = replay.replay(repo, project.state_dir(repo), args.record)
    chart = timeline.text_chart(replay.load_record(args.record).get("stages", []))
    if chart:  # where the recorded run spent its time, before what the replay found
        console.err.print(f"the recorded run's stages:\n{chart}", markup=False, highlight=False)
    if result["reproduced"]:
        console.err.print(
            f"reproduced: every stage matches the recording (failing stage: "
            f"{result['recorded_failing_stage'] or 'none'})"
        )
    else:
        difference = result.get("first_difference") or {}
        console.error(
            f"the replay differs from the recording at stage {difference.get('index')}: "
            f"recorded {difference.get('recorded')}, replayed {difference.get('replayed')}"
            if difference else str(result.get("message"))
        )  # fmt: skip
    job_summary.append(
        f"### replay of {result['recorded_run']}: "
        f"{'reproduced' if result['reproduced'] else 'differs'}"
    )
    _emit(args, result)
    return 0 if result["reproduced"] else 1


def cmd_emulator(args: argparse.Namespace) -> int:
    state = project.state_dir(project.root())
    if args.action == "start":
        current, started = emulator.ensure_running(state)
        verb = "started" if started else "already running"
        console.err.print(f"emulator {verb} at {current.endpoint} (pid {current.pid})")
    elif args.action == "stop":
        stopped = emulator.stop_background(state)
        console.err.print(
            f"emulator stopped (pid {stopped.pid})" if stopped else "no emulator running"
        )
        current = None
    else:
        current = emulator.load(state)
        console.err.print(
            f"emulator running at {current.endpoint}" if current else "emulator stopped"
        )
    running = current is not None
    _emit(
        args,
        {
            "running": running,
            "endpoint": current.endpoint if current else None,
            "pid": current.pid if current else None,
        },
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pipeline", usage="pipeline VERB [options]",
                     description=ABOUT,
                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "--emulator-endpoint", metavar="URL",
        help="use the AWS emulator at URL (moto, LocalStack) instead of starting one; "
             "the same as PIPELINE_EMULATOR_ENDPOINT",
    )  # fmt: skip
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser,
                                  metavar="VERB", help=argparse.SUPPRESS)  # fmt: skip
    summaries: dict[str, str] = {}

    def verb(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> Any:
        sub = verbs.add_parser(name, description=help)  # listed by group in the epilog
        sub.set_defaults(handler=handler)
        summaries[name] = help
        return sub

    verb(
        "test",
        cmd_test,
        "Run the whole test suite, ruff and the coverage floors; extra arguments go to pytest "
        "(a selection has no floors)",
    )

    unit = verb("unit-test", cmd_unit_test, "Run the Lambdas' unit tests against the emulator")
    unit.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    unit.add_argument(
        "--export", type=Path, help="also write run.json, outcome.json and summary.md into DIR"
    )

    audit = verb("audit", cmd_audit, "Check every locked dependency against known vulnerabilities")
    audit.add_argument("--json", action="store_true", help="print the report as JSON on stdout")

    bench = verb("bench", cmd_bench, "Run every benchmark; JSON, markdown and a PNG chart")
    bench.add_argument("--quick", action="store_true", help="one repetition instead of three")
    bench.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    bench.add_argument(
        "--out", type=Path, default=Path("benchmarks/results"), help="where to write the results"
    )

    prom = verb("promote", cmd_promote, "Promote the current commit to an environment")
    prom.add_argument("--env", required=True, help="target environment (terraform tfvars name)")
    prom.add_argument(
        "--target",
        choices=target.KINDS,
        help="emulated (default, or PIPELINE_TARGET) or aws (credentials from the AWS chain)",
    )
    inputs.add_arguments(prom, required=False)
    prom.add_argument("--approve", help='record an approval, "NAME: REASON" (for manual decisions)')
    prom.add_argument(
        "--unquarantine", help='promote a quarantined sha anyway, "NAME: REASON" (recorded)'
    )
    prom.add_argument(
        "--break-lock", help='take the lock of a run that died, "NAME: REASON" (recorded)'
    )
    prom.add_argument(
        "--artifacts",
        type=Path,
        help="promote the artifact in DIR (from `package --out DIR`) instead of building it; "
        "refused unless it matches its manifest and this commit",
    )
    prom.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    prom.add_argument(
        "--export", type=Path, help="also write run.json, outcome.json and summary.md into DIR"
    )

    pkg = verb("package", cmd_package, "Build the reproducible zips and manifest of this commit")
    pkg.add_argument(
        "--out", type=Path, help="directory for them (default .pipeline/artifacts/SHA)"
    )
    pkg.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")

    app = verb("apply", cmd_apply, "Upload the artifact and terraform apply; live does not move")
    app.add_argument("--env", required=True, help="environment to apply")
    app.add_argument("--target", choices=target.KINDS, help="emulated (default) or aws")
    app.add_argument(
        "--artifacts", type=Path, help="upload the artifact in DIR instead of building it"
    )
    app.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")

    ver = verb("verify", cmd_verify, "Run the suites against what an environment runs now")
    ver.add_argument("--env", required=True, help="environment to verify")
    ver.add_argument("--target", choices=target.KINDS, help="emulated (default) or aws")
    ver.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")

    iam = verb(
        "check-iam",
        cmd_check_iam,
        "Prove every AWS call is allowed for its principal: promote every environment, roll "
        "back and rotate each dashboard key on a fresh emulated account, recording each call, "
        "and evaluate them against the IAM policies Terraform applied",
    )
    iam.add_argument("--json", action="store_true", help="print the run record as JSON on stdout")

    back = verb("rollback", cmd_rollback, "Move live back to what an earlier sha deployed")
    back.add_argument("--env", required=True, help="environment to roll back")
    back.add_argument("--to", help="sha to return to (default: the previous good deployment)")
    back.add_argument("--target", choices=target.KINDS, help="emulated (default) or aws")
    back.add_argument(
        "--break-lock", help='take the lock of a run that died, "NAME: REASON" (recorded)'
    )
    back.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")

    rot = verb(
        "rotate-secret",
        cmd_rotate_secret,
        "Give an environment's dashboard key a new value; the old one is still accepted until "
        "the next rotation",
    )
    rot.add_argument("name", help="which key: dashboard (NewsAPI issues its own)")
    rot.add_argument("--env", required=True, help="environment whose key to rotate")
    rot.add_argument("--target", choices=target.KINDS, help="emulated (default) or aws")
    rot.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")

    hist = verb("history", cmd_history, "List an environment's ledger, newest first")
    hist.add_argument("--env", required=True, help="environment whose ledger to list")
    hist.add_argument("--limit", type=int, help="show at most this many entries")
    hist.add_argument("--target", choices=target.KINDS, help="emulated (default) or aws")
    hist.add_argument("--json", action="store_true", help="print the entries as JSON on stdout")

    met = verb("metrics", cmd_metrics, "DORA metrics from the last environment's ledger")
    met.add_argument("--env", help="environment (default: the last in promotion_order)")
    met.add_argument("--target", choices=target.KINDS, help="emulated (default) or aws")
    met.add_argument("--json", action="store_true", help="print the metrics as JSON on stdout")

    rep = verb("replay", cmd_replay, "Re-run a recorded promotion offline and compare its stages")
    rep.add_argument("record", type=Path, help="the run.json of the run to replay")
    rep.add_argument("--json", action="store_true", help="print the comparison as JSON on stdout")

    gate_cmd = verb("gate", cmd_gate, "Decide auto/manual/block per environment for a pull request")
    inputs.add_arguments(gate_cmd, required=True)

    stat = verb("status", cmd_status, "Show what each environment runs and who deployed it")
    stat.add_argument("--target", choices=target.KINDS, help="emulated (default) or aws")
    stat.add_argument("--json", action="store_true", help="print the status as JSON on stdout")

    emu = verb("emulator", cmd_emulator, "Manage the background AWS emulator (moto server)")
    emu.add_argument("action", choices=["start", "stop", "status"])
    emu.add_argument("--json", action="store_true", help="print the state as JSON on stdout")

    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(summaries), "every verb belongs to exactly one group"
    indent = " " * (max(map(len, summaries)) + 4)

    def line(name: str) -> str:
        first = f"  {name:<{len(indent) - 2}}{summaries[name]}"
        return textwrap.fill(first, 100, subsequent_indent=indent)

    listing = [f"{group}:\n" + "\n".join(map(line, names)) for group, names in GROUPS.items()]
    parser.epilog = "\n\n".join([*listing, EXAMPLES])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.verb != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = extra
    try:
        if args.emulator_endpoint:
            emulator.use_external(args.emulator_endpoint)
        return args.handler(args)
    except PipelineError as exc:
        console.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted; the run record keeps what finished")
        return 130
    except Exception as exc:  # a bug: keep the traceback in a file, not on the screen
        log = project.state_dir(Path.cwd()) / "last-error.log"
        log.write_text(traceback.format_exc())
        message = f"internal error ({type(exc).__name__}: {exc}); details in {log}"
        console.error(message)
        if args.verb == "promote" and args.export:
            export_failure(args.export, args.env, 1, message)
            shutil.copy(log, args.export / "last-error.log")
        return 1

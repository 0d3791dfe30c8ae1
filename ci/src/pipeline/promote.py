"""The promotion algorithm, written once: it orders the stages, records every result and decides
the outcome. Where a step executes (this process, or a Dagger container) is not its concern."""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import (
    artifacts,
    awserrors,
    bootstrap,
    decide,
    deploy,
    emulator,
    gate,
    packaging,
    plandiff,
    project,
    source,
    target,
    terraform,
    unit_tests,
    verify,
)
from pipeline.errors import PipelineError, RefusedError
from pipeline.ledger import Ledger
from pipeline.runrecord import RunRecord
from pipeline.stages import Listener, StageRunner

PLAN_FILE = "tfplan"
# The package bucket must exist before the first upload; on a first deploy it is applied alone.
BUCKET_RESOURCES = (
    "module.app.aws_s3_bucket.packages",
    "module.app.aws_s3_bucket_versioning.packages",
    "module.app.aws_s3_bucket_server_side_encryption_configuration.packages",
    "module.app.aws_s3_bucket_public_access_block.packages",
)


@dataclass
class Outcome:
    env: str
    target: str
    sha: str
    exit_code: int
    message: str
    record_path: Path
    stages: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def result(self) -> str:
        return {0: "ok", 3: "refused"}.get(self.exit_code, "failed")

    def summary_row(self) -> dict[str, Any]:
        versions = ", ".join(f"{k}:{v}" for k, v in sorted(self.versions.items())) or "-"
        return {
            "env": self.env,
            "target": self.target,
            "sha": self.sha[:12],
            "versions": versions,
            "result": self.result,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "target": self.target,
            "sha": self.sha,
            "result": self.result,
            "exit_code": self.exit_code,
            "message": self.message,
            "versions": self.versions,
            "stages": self.stages,
            "run_record": str(self.record_path),
        }


@dataclass
class Promotion:
    """The state one promotion accumulates as its stages run."""

    repo: Path
    state: Path
    env: str
    src: source.Source
    tgt: target.Target
    record: RunRecord
    runner: StageRunner
    manifest: dict[str, Any] = field(default_factory=dict)
    packages: list[packaging.Package] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)
    workspace: terraform.Workspace | None = None
    bucket: str = ""
    reached_target: bool = False
    validated: bool = False

    def tf_vars(self) -> dict[str, str]:
        return {"lambda_version": self.src.sha}

    def gate(self, decision: gate.Decision, approval: dict[str, str] | None) -> None:
        with self.runner.stage("gate") as log:
            level = decision.for_env(self.env)
            self.record.data["decision"] = {**decision.to_json(), "approval": approval}
            self.record.save()
            if level == "block":
                raise RefusedError(f"the gate blocks {self.env}: {'; '.join(decision.reasons)}")
            if level == "manual" and approval is None:
                raise RefusedError(
                    f"the gate requires an approval for {self.env}: "
                    f'{"; ".join(decision.reasons)}. Re-run with --approve "NAME: REASON"'
                )
            log.detail = f"{level}" + (f", approved by {approval['approver']}" if approval else "")

    def unit_test(self) -> None:
        with self.runner.stage("unit-test") as log:
            unit_tests.run(self.repo, self.state, log)

    def package(self) -> None:
        with self.runner.stage("package") as log:
            built = packaging.package_all(self.repo, self.state / "cache")
            self.packages = [package for package, _ in built]
            out = self.state / "artifacts" / self.src.sha
            self.manifest = packaging.export(out, self.src, self.packages)
            reused = sum(cached for _, cached in built)
            total = sum(p.size for p in self.packages)
            log.detail = f"{len(built)} zips, {total / 1e6:.2f} MB, {reused} from cache → {out}"

    def upload(self) -> None:
        with self.runner.stage("upload") as log:
            self.reached_target = True
            bootstrap.ensure(self.repo, self.state, self.env, self.tgt)
            self.workspace = terraform.Workspace.prepare(self.repo, self.state, self.env, self.tgt)
            self.workspace.init(log)
            bucket = self.workspace.outputs(log).get("package_bucket")
            if not bucket:
                log.write("first deploy: creating the package bucket before the upload")
                targets = [f"-target={address}" for address in BUCKET_RESOURCES]
                self.workspace.run(
                    ["apply", "-auto-approve", "-input=false", "-no-color", *targets,
                     *self.workspace.var_args(self.tf_vars())],
                    log,
                )  # fmt: skip
                bucket = self.workspace.outputs(log)["package_bucket"]
            self.bucket = bucket
            items = [
                (f"{self.src.sha}/{p.function}.zip", p.path.read_bytes(), p.sha256)
                for p in self.packages
            ]
            outcomes = artifacts.upload_all(self.tgt, bucket, items)
            ledger = Ledger(self.tgt, self.env)
            ledger.ensure()
            ledger.record_artifact(
                self.src.sha,
                bucket,
                {p.function: {"key": key, "sha256": p.sha256}
                 for p, (key, _, _) in zip(self.packages, items, strict=True)},
            )  # fmt: skip
            uploaded = sum(outcome == "uploaded" for outcome in outcomes.values())
            log.detail = f"s3://{bucket}/{self.src.sha}/: {uploaded} uploaded, digests verified"

    def apply(self) -> None:
        assert self.workspace is not None
        with self.runner.stage("apply") as log:
            changed = self.workspace.plan(log, self.tf_vars(), out=PLAN_FILE)
            real = []
            if changed:
                plan = self.workspace.show_plan(log, PLAN_FILE)
                real = plandiff.unexplained(plan, emulated=self.tgt.kind == "emulated")
            if real:
                self.workspace.apply(log, PLAN_FILE)
                log.detail = f"applied {len(real)} changes"
            else:
                ignored = " (only emulator-caused differences, not applied)" if changed else ""
                log.detail = f"no changes{ignored}"
            self.outputs = self.workspace.outputs(log)

    def deploy(self) -> None:
        with self.runner.stage("deploy") as log:
            names = self.outputs["function_names"]
            published = self.outputs["published_versions"]
            self.previous = deploy.live_versions(self.tgt, names)
            deploy.check_digests(self.tgt, names, published, deploy.expected_digests(self.manifest))
            deploy.move_alias(self.tgt, names, published)
            self.versions = dict(published)
            log.detail = deploy.summarise(self.versions, self.previous)

    def verify(self) -> None:
        with self.runner.stage("verify") as log:
            run_dir = self.record.directory / "verify"
            try:
                results = verify.verify(
                    self.repo, self.state, self.env, self.src.sha, self.tgt, self.outputs,
                    run_dir, log,
                )  # fmt: skip
            except PipelineError:
                self.record.data["verify"] = [
                    verify.junit_results(name, run_dir / f"{name}.xml").to_json()
                    for name in verify.SUITES
                    if (run_dir / f"{name}.xml").exists()
                ]
                raise
            self.record.data["verify"] = [result.to_json() for result in results]
            self.record.data["load"] = verify.load_report(run_dir)
            Ledger(self.tgt, self.env).mark_validated(
                self.src.sha, self.digests(), self.record.data["id"]
            )
            self.validated = True

    def digests(self) -> dict[str, str]:
        return {fn: m["sha256"] for fn, m in self.manifest.get("functions", {}).items()}

    def ledger_entry(self, result: str, message: str) -> dict[str, Any]:
        return {
            "run_id": self.record.data["id"],
            "env": self.env,
            "target": self.tgt.kind,
            "sha": self.src.sha,
            "commit": self.src.commit,
            "dirty": self.src.dirty,
            "author": self.src.author,
            "commit_time": self.src.commit_time,
            "who": project.operator(),
            "digests": self.digests(),
            "validated": self.validated,
            "versions": self.versions,
            "previous_versions": self.previous,
            "functions": self.outputs.get("function_names", {}),
            "decision": self.record.data.get("decision"),
            "approval": (self.record.data.get("decision") or {}).get("approval"),
            "stages": [r.to_json() for r in self.runner.results],
            "result": result,
            "message": message,
            "started_at": self.record.data["started_at"],
            "finished_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }

    def record_ledger(self, result: str, message: str) -> None:
        with self.runner.stage("record") as log:
            ledger = Ledger(self.tgt, self.env)
            ledger.ensure()
            ledger.record(self.ledger_entry(result, message))
            log.detail = f"{ledger.table}: {result}"


def promote(
    repo: Path,
    env: str,
    listener: Listener,
    target_kind: str | None = None,
    decision: gate.Decision | None = None,
    approval: dict[str, str] | None = None,
) -> Outcome:
    state = project.state_dir(repo)
    src = source.read(repo)
    if src.dirty and env in project.protected_environments(repo):
        raise RefusedError(
            f"the working tree has uncommitted changes; {env} only takes committed, clean builds. "
            "Commit (or stash) and promote the new sha"
        )
    tgt = target.resolve(repo, state, env, target_kind)
    assert tgt is not None
    record = RunRecord.create(
        state,
        "promote",
        {
            "env": env,
            "target": tgt.kind,
            "sha": src.sha,
            "dirty": src.dirty,
            "author": src.author,
            "commit_time": src.commit_time,
        },
    )
    runner = StageRunner(listener, record.add_stage, awserrors.translate)
    run = Promotion(repo, state, env, src, tgt, record, runner)
    started = time.monotonic()
    exit_code, message = 0, f"{src.short} promoted to {env} ({tgt.kind}), verified and validated"
    try:
        run.gate(decision or decide.without_event(), approval)
        run.unit_test()
        run.package()
        run.upload()
        run.apply()
        run.deploy()
        run.verify()
    except PipelineError as exc:
        exit_code, message = exc.exit_code, str(exc)
    emulator_gone = tgt.kind == "emulated" and emulator.load(state) is None
    if emulator_gone:
        failed = runner.results[-1].name if runner.results else "the run"
        message = (
            f"{failed} failed because the emulator stopped during the run; its emulated AWS, "
            "ledger included, is gone. The next `./pipeline promote` starts a new emulator and "
            "deploys from scratch"
        )
    elif run.reached_target:
        try:
            run.record_ledger("ok" if exit_code == 0 else "failed", message)
        except PipelineError as exc:
            exit_code = exit_code or exc.exit_code
            message += f"; the ledger was not written: {exc}"
    record.finish(
        "ok" if exit_code == 0 else "failed",
        exit_code,
        message=message,
        versions=run.versions,
        manifest=run.manifest,
        seconds=round(time.monotonic() - started, 3),
    )
    return Outcome(
        env,
        tgt.kind,
        src.sha,
        exit_code,
        message,
        record.path,
        [r.to_json() for r in runner.results],
        run.versions,
    )

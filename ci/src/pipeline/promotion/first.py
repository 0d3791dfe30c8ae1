"""One promotion's state and the stages every environment shares: the gate, unit tests,
packaging, upload, apply, deploy, verify and the ledger record. Which stages run, in which order,
is decided in `graph` below (and follow_on.py for environments that follow another)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import concurrency, gate
from pipeline.adapters import target, terraform
from pipeline.adapters.terraform import backend, plan_diff
from pipeline.concurrency import Step
from pipeline.errors import PipelineError, RefusedError
from pipeline.promotion.recorded import StageRunner
from pipeline.stages import deploy, packaging, unit_test, upload, verify
from pipeline.state import project, source
from pipeline.state.ledger import Ledger
from pipeline.state.run_record import RunRecord
from pipeline.state.stage_log import StageLog

PLAN_FILE = "tfplan"
# The package bucket must exist before the first upload; on a first deploy it is applied alone.
BUCKET_RESOURCES = (
    "module.app.aws_s3_bucket.packages",
    "module.app.aws_s3_bucket_versioning.packages",
    "module.app.aws_s3_bucket_server_side_encryption_configuration.packages",
    "module.app.aws_s3_bucket_public_access_block.packages",
)

# On a new account the deployer role does not exist yet; an administrator applies it alone once.
DEPLOYER_RESOURCES = ("module.app.aws_iam_role.deployer", "module.app.aws_iam_role_policy.deployer")


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
    changes: list[plan_diff.Change] = field(default_factory=list)  # less the emulator's own
    validated: bool = False
    rollback: dict[str, Any] | None = None
    supplied: Path | None = None  # an artifact built elsewhere (`promote --artifacts`)

    @property
    def infra_changed(self) -> bool:
        """Whether the plan had changes of its own (the emulator's are not)."""
        return bool(self.changes)

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
            unit_test.run(self.repo, self.state, log)

    def package(self) -> None:
        with self.runner.stage("package") as log:
            if self.supplied:
                self.packages, self.manifest = packaging.load(self.supplied, self.repo, self.src)
                log.detail = (
                    f"{len(self.packages)} zips supplied in {self.supplied}, checked against "
                    "their manifest and this commit's sources"
                )
                return
            out = self.state / "artifacts" / self.src.sha
            self.packages, self.manifest, log.detail = packaging.build(
                self.repo, self.state, self.src, out
            )

    def become_deployer(self, log: StageLog) -> None:
        """Act as the environment's deployer role from here on. An emulated account that has no
        such role yet gets it from its administrator first: the one apply an operator makes by
        hand on AWS, so that every later call is the deployer's."""
        if self.tgt.kind != "emulated" or self.tgt.credentials:
            return
        backend.ensure(self.repo, self.state, self.env, self.tgt)
        role = target.deployer_role(self.env)
        log.write(f"{role} does not exist yet: the account administrator applies it alone")
        workspace = terraform.Workspace.prepare(self.repo, self.state, self.env, self.tgt)
        workspace.init(log)
        workspace.apply_targets(log, DEPLOYER_RESOURCES, self.tf_vars())
        self.tgt = target.as_deployer(self.tgt, self.env, self.state)
        if not self.tgt.credentials:
            raise PipelineError(f"{role} was applied but cannot be found in the emulator")

    def prepare_target(self, log: StageLog) -> str:
        """Bootstrap the environment and init Terraform; returns the package bucket, creating it
        alone on a first deploy because the artifacts must be in it before the full apply."""
        self.reached_target = True
        self.become_deployer(log)
        backend.ensure(self.repo, self.state, self.env, self.tgt)
        self.workspace = terraform.Workspace.prepare(self.repo, self.state, self.env, self.tgt)
        self.workspace.init(log)
        bucket = self.workspace.outputs(log).get("package_bucket")
        if not bucket:
            log.write("first deploy: creating the package bucket before the upload")
            self.workspace.apply_targets(log, BUCKET_RESOURCES, self.tf_vars())
            bucket = self.workspace.outputs(log)["package_bucket"]
        self.bucket = bucket
        return bucket

    def store_artifacts(self, blobs: dict[str, tuple[bytes, str]]) -> int:
        """Upload function → (zip bytes, sha256) under `<sha>/` and record them in the ledger;
        returns how many were new."""
        items = [(f"{self.src.sha}/{fn}.zip", body, digest) for fn, (body, digest) in blobs.items()]
        outcomes = upload.upload_all(self.tgt, self.bucket, items)
        ledger = Ledger(self.tgt, self.env)
        ledger.ensure()
        where = {fn: {"key": f"{self.src.sha}/{fn}.zip", "sha256": blobs[fn][1]} for fn in blobs}
        ledger.record_artifact(self.src.sha, self.bucket, where)
        return sum(outcome == "uploaded" for outcome in outcomes.values())

    def upload(self) -> None:
        with self.runner.stage("upload") as log:
            bucket = self.prepare_target(log)
            uploaded = self.store_artifacts(
                {p.function: (p.path.read_bytes(), p.sha256) for p in self.packages}
            )
            log.detail = f"s3://{bucket}/{self.src.sha}/: {uploaded} uploaded, digests verified"

    def plan(self) -> None:
        """Plan against the uploaded artifact. Nothing changes here, so it may run while the
        unit tests still do; `apply` waits for both."""
        assert self.workspace is not None
        with self.runner.stage("plan") as log:
            changed = self.workspace.plan(log, self.tf_vars(), out=PLAN_FILE)
            self.changes = []
            if changed:
                plan = self.workspace.show_plan(log, PLAN_FILE)
                self.changes = plan_diff.unexplained(plan, emulated=self.tgt.kind == "emulated")
            ignored = " (only emulator-caused differences)" if changed and not self.changes else ""
            log.detail = f"{len(self.changes)} changes{ignored}"

    def apply(self) -> None:
        assert self.workspace is not None
        with self.runner.stage("apply") as log:
            if self.changes:
                self.workspace.apply(log, PLAN_FILE, self.tf_vars())
                log.detail = f"applied {len(self.changes)} changes"
            else:
                log.detail = "no changes, nothing applied"
            self.outputs = self.workspace.outputs(log)

    def check_published(self) -> None:
        """Every version this apply published must run exactly the artifact's code; records the
        versions `live` had and the ones it may move to. Nothing moves here."""
        names = self.outputs["function_names"]
        published = self.outputs["published_versions"]
        self.previous = deploy.live_versions(self.tgt, names)
        deploy.check_digests(self.tgt, names, published, deploy.expected_digests(self.manifest))
        self.versions = dict(published)

    def deploy(self) -> None:
        with self.runner.stage("deploy") as log:
            self.check_published()
            deploy.move_alias(self.tgt, self.outputs["function_names"], self.versions)
            log.detail = deploy.summarise(self.versions, self.previous)

    def verify(self) -> None:
        with self.runner.stage("verify") as log:
            run_dir = self.record.directory / "verify"
            earlier = reusable_validation(
                Ledger(self.tgt, self.env).validations(self.src.sha),
                self.digests(),
                self.infra_changed,
                self.previous,
                self.versions,
            )
            scope = verify.Scope(shas=(self.src.sha,))
            if earlier:
                scope = verify.Scope(
                    suites=("canary",), shas=(self.src.sha,), markers=verify.NOT_DISRUPTIVE
                )
                self.record.data["verify_reused"] = earlier["run_id"]
            try:
                results = verify.verify(
                    self.repo, self.state, self.env, self.tgt, self.outputs, run_dir, log, scope
                )
            except PipelineError:
                self.record.data["verify"] = [
                    verify.junit_results(name, run_dir / f"{name}.xml").to_json()
                    for name in scope.suites
                    if (run_dir / f"{name}.xml").exists()
                ]
                raise
            self.record.data["verify"] = [result.to_json() for result in results]
            self.record.data["load"] = verify.load_report(run_dir)
            if earlier:
                log.detail = (
                    f"unchanged since run {earlier['run_id']} validated these bytes here (empty "
                    f"plan, live not moved): {log.detail}; `./pipeline verify --env {self.env}` "
                    "runs every suite"
                )
            else:
                Ledger(self.tgt, self.env).mark_validated(
                    self.src.sha, self.digests(), self.record.data["id"]
                )
            self.validated = True

    def digests(self) -> dict[str, str]:
        return {fn: m["sha256"] for fn, m in self.manifest.get("functions", {}).items()}

    def ledger_entry(self, result: str, message: str) -> dict[str, Any]:
        return {
            "kind": "promote",
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
            "rollback": self.rollback,
            "started_at": self.record.data["started_at"],
            "finished_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }

    def record_ledger(self, result: str, message: str) -> None:
        with self.runner.stage("record") as log:
            ledger = Ledger(self.tgt, self.env)
            ledger.ensure()
            ledger.record(self.ledger_entry(result, message))
            log.detail = f"{ledger.table}: {result}"


# The first environment's stages after the gate, each a Promotion method of its name, and what
# each needs. The unit tests need nothing the build makes, so they run alongside package →
# upload → plan, none of which changes what the environment runs; apply is the first stage that
# does, and it waits for both.
GRAPH = (
    ("unit-test", ()),
    ("package", ()),
    ("upload", ("package",)),
    ("plan", ("upload",)),
    ("apply", ("unit-test", "plan")),
    ("deploy", ("apply",)),
    ("verify", ("deploy",)),
)
# The order a run record's stages are read in (replay compares them so): concurrent stages end
# in either order.
STAGE_ORDER = ("gate", *(name for name, _ in GRAPH), "record")


def graph(promotion: Promotion) -> list[Step]:
    return [
        Step(name, getattr(promotion, name.replace("-", "_")), needs=needs) for name, needs in GRAPH
    ]


def run(promotion: Promotion) -> None:
    concurrency.run_graph(graph(promotion))


def reusable_validation(
    validations: list[dict[str, Any]],
    digests: dict[str, str],
    infra_changed: bool,
    previous: dict[str, str],
    versions: dict[str, str],
) -> dict[str, Any] | None:
    """An earlier validation of these exact bytes that still describes the environment, or None.

    When the plan was empty and `live` did not move, everything the full suites exercised is as
    it was when they passed, so a re-run only needs the canary to show the environment is still
    healthy; re-running the end-to-end suite would spend most of a no-change run proving nothing
    new. Anything that changed (infrastructure, the versions `live` serves, the bytes) means the
    suites run in full."""
    if infra_changed or not versions or previous != versions:
        return None
    return next((v for v in validations if v.get("digests") == digests), None)

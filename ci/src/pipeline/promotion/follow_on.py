"""Promotion to an environment that follows another (prod after preprod): exactly the bytes the
previous environment validated, under a lock, shifted progressively, and rolled back by itself.

Stages: gate → preconditions → lock → copy → apply → deploy → shift N% (canary suite and alarm
watch at each step) → record. Any failure after `live` started moving restores it, quarantines
the sha and alerts."""

import base64
import hashlib
import json
from dataclasses import dataclass

from pipeline.adapters.target import Target
from pipeline.errors import PipelineError, RefusedError, StageFailedError
from pipeline.promotion.first import Promotion
from pipeline.stages import traffic, verify
from pipeline.state import project
from pipeline.state.ledger import Ledger, now_iso


@dataclass(frozen=True)
class Validated:
    """What the previous environment validated for this sha, and where its bytes are."""

    env: str
    sha: str
    digests: dict[str, str]
    bucket: str
    keys: dict[str, str]
    run_id: str


def code_sha256(hex_digest: str) -> str:
    """Lambda's CodeSha256 (base64 of the raw digest) from a hex sha256."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def find_validation(tgt: Target, source_env: str, sha: str) -> Validated:
    ledger = Ledger(tgt, source_env)
    how = f"Promote it there first: ./pipeline promote --env {source_env}"
    if not ledger.exists():
        raise RefusedError(f"{sha[:12]} is not validated in {source_env}: nothing was ever "
                           f"deployed there. {how}")  # fmt: skip
    validations = ledger.validations(sha)
    if not validations:
        raise RefusedError(
            f"{sha[:12]} is not validated in {source_env} (its verify stage has not passed "
            f"there). {how}"
        )
    latest = validations[-1]
    artifact = ledger.artifact(sha)
    if (
        artifact is None
        or {fn: m["sha256"] for fn, m in artifact["functions"].items()} != (latest["digests"])
    ):
        raise RefusedError(
            f"the {source_env} ledger's artifacts for {sha[:12]} do not match the digests it "
            f"validated; re-run ./pipeline promote --env {source_env}"
        )
    return Validated(
        env=source_env,
        sha=sha,
        digests=latest["digests"],
        bucket=artifact["bucket"],
        keys={fn: meta["key"] for fn, meta in artifact["functions"].items()},
        run_id=latest["run_id"],
    )


class FollowOnPromotion(Promotion):
    """The stages only a follow-on environment has; the shared ones come from Promotion."""

    validated_from: Validated | None = None
    locked: bool = False
    moved: bool = False

    def preconditions(self, source_env: str, unquarantine: dict[str, str] | None) -> None:
        with self.runner.stage("preconditions") as log:
            self.become_deployer(log)
            self.validated_from = find_validation(self.tgt, source_env, self.src.sha)
            ledger = Ledger(self.tgt, self.env)
            ledger.ensure()
            held = ledger.quarantined(self.src.sha)
            if held and unquarantine is None:
                raise RefusedError(
                    f"{self.src.short} is quarantined in {self.env} since {held['at']}: "
                    f"{held['reason']}. Promote a fix (a new sha), or override with "
                    '--unquarantine "NAME: REASON"'
                )
            if held and unquarantine is not None:
                ledger.unquarantine(self.src.sha, unquarantine, self.record.data["id"])
                log.write(f"quarantine released by {unquarantine['approver']}")
            log.detail = f"validated in {source_env} by run {self.validated_from.run_id}" + (
                f"; quarantine released by {unquarantine['approver']}" if held else ""
            )

    def lock(self, ttl_seconds: float, breaking: dict[str, str] | None = None) -> None:
        with self.runner.stage("lock") as log:
            ledger = Ledger(self.tgt, self.env)
            replaced = ledger.acquire_lock(
                project.operator(), self.record.data["id"], ttl_seconds, breaking
            )
            self.locked = True
            log.detail = f"{self.env} locked for this run"
            if replaced:
                kind = f"broke the lock, for {breaking['approver']}," if breaking else "broke"
                log.detail += (
                    f"; {kind} a stale lock of {replaced['owner']} (run {replaced['run_id']})"
                )
                self.record.data["broken_lock"] = replaced

    def release(self) -> None:
        """Release the lock; failing to (the target is gone) must not hide why the run ended.
        An unreleased lock still expires, and the next run names the way to break it."""
        if not self.locked:
            return
        self.locked = False
        try:
            Ledger(self.tgt, self.env).release_lock(self.record.data["id"])
        except Exception as exc:
            self.record.data["lock_not_released"] = f"{type(exc).__name__}: {exc}"

    def copy(self) -> None:
        """Fetch the validated zips, prove they are the validated bytes, store them here."""
        assert self.validated_from is not None
        source = self.validated_from
        with self.runner.stage("copy") as log:
            s3 = self.tgt.client("s3")
            blobs: dict[str, tuple[bytes, str]] = {}
            for fn, key in sorted(source.keys.items()):
                body = s3.get_object(Bucket=source.bucket, Key=key)["Body"].read()
                digest = hashlib.sha256(body).hexdigest()
                if digest != source.digests[fn]:
                    raise RefusedError(
                        f"s3://{source.bucket}/{key} has sha256 {digest[:12]}, but {source.env} "
                        f"validated {source.digests[fn][:12]}: the artifact changed after "
                        "validation. Nothing was deployed; investigate the bucket, then promote "
                        f"a new sha through {source.env}"
                    )
                blobs[fn] = (body, digest)
            self.prepare_target(log)
            uploaded = self.store_artifacts(blobs)
            self.manifest = {
                "sha": self.src.sha,
                "functions": {
                    fn: {"sha256": d, "code_sha256": code_sha256(d), "size": len(b)}
                    for fn, (b, d) in blobs.items()
                },
            }
            log.detail = (
                f"{len(blobs)} validated zips from {source.env} → s3://{self.bucket}/"
                f"{self.src.sha}/ ({uploaded} new), digests equal"
            )

    def check(self) -> None:
        """Published versions must run exactly the validated code; `live` does not move yet."""
        with self.runner.stage("deploy") as log:
            self.check_published()
            log.detail = "CodeSha256 of every new version equals the validated digest"

    def progressive(self, plan: traffic.Plan) -> None:
        names = self.outputs["function_names"]
        previous_sha = ""
        for index, percent in enumerate(plan.steps):
            last = index == len(plan.steps) - 1
            with self.runner.stage(f"shift {percent}%") as log:
                if index == 0:
                    previous_sha = (Ledger(self.tgt, self.env).last_good() or {}).get("sha", "")
                self.moved = True  # from here on, part of `live` may point at the new versions
                traffic.shift(self.tgt, names, self.previous, self.versions, percent)
                self.record.data.setdefault("traffic", []).append(
                    {"percent": percent, "at": now_iso()}
                )
                self.record.save()
                shas = (self.src.sha,)
                if self.tgt.kind == "aws" and percent < 100 and previous_sha:
                    shas = (self.src.sha, previous_sha)  # the alias URL serves both while split
                run_dir = self.record.directory / f"canary-{percent}"
                results = verify.verify(
                    self.repo, self.state, self.env, self.tgt, self.outputs, run_dir, log,
                    verify.Scope(suites=("canary",), qualifier=self.versions["dashboard"],
                                 shas=shas, markers=verify.NOT_DISRUPTIVE),
                )  # fmt: skip
                seconds = plan.watch_seconds if last else plan.soak_seconds
                window = "final watch" if last else "soak"
                checks = traffic.watch(
                    seconds,
                    plan.check_interval,
                    self.release_alarms_firing,
                    f"alarms fired during the {window} at {percent}%",
                )
                log.detail = (
                    f"{percent}% on the new versions; canary {results[0].passed} passed; "
                    f"{window} {seconds:.0f}s, {checks} alarm checks clear"
                )
                if last:
                    # Every step's canary passed and the final watch stayed clear: these bytes
                    # are validated here, for the environment after this one to take.
                    Ledger(self.tgt, self.env).mark_validated(
                        self.src.sha, self.digests(), self.record.data["id"]
                    )
                    self.validated = True

    def release_alarms_firing(self) -> list[str]:
        """The alarms in ALARM that a release can trip: the paging-only ones (a schedule that did
        not run, an account-wide metric) page a person but must not undo this release."""
        paging_only = set(self.outputs["paging_only_alarm_names"])
        return [a for a in self.tgt.alarms_firing(f"{self.env}-") if a not in paging_only]

    def roll_back(self, reason: str) -> None:
        """Put `live` back, quarantine the sha and alert; no Terraform involved."""
        names = self.outputs["function_names"]
        with self.runner.stage("rollback") as log:
            seconds = traffic.restore(self.tgt, names, self.previous)
            Ledger(self.tgt, self.env).quarantine(self.src.sha, reason, self.record.data["id"])
            self.rollback = {"to": self.previous, "seconds": round(seconds, 3), "reason": reason}
            self.tgt.client("sns").publish(
                TopicArn=self.outputs["alerts_topic_arn"],
                Subject=f"[{self.env}] automatic rollback of {self.src.short}"[:100],
                Message=json.dumps({"check": "promotion", "environment": self.env,
                                    "sha": self.src.sha, **self.rollback}),
            )  # fmt: skip
            self.record.data["rollback"] = self.rollback
            self.versions = dict(self.previous)
            restored = ", ".join(f"{fn}:{v}" for fn, v in sorted(self.previous.items()))
            log.detail = (
                f"live restored to {restored} in {seconds:.2f}s; {self.src.short} quarantined; "
                "alert published"
            )


def run(
    promotion: FollowOnPromotion,
    source_env: str,
    unquarantine: dict[str, str] | None,
    break_lock: dict[str, str] | None = None,
    *,
    move_live: bool = True,
) -> None:
    """The follow-on environment's stages after the gate, under its lock: take the bytes the
    environment before it validated, apply, then (unless `move_live` is False, as for
    `pipeline apply`) move `live` progressively. A failure after `live` started moving rolls
    back, then re-raises."""
    plan = traffic.load_plan(promotion.repo, promotion.tgt.kind)
    try:
        promotion.preconditions(source_env, unquarantine)
        promotion.lock(plan.lock_seconds, break_lock)
        promotion.copy()
        try:
            promotion.plan()
            promotion.apply()
        except PipelineError as exc:
            raise type(exc)(f"{exc}; live has not moved, so there is nothing to roll back") from exc
        if not move_live:
            return
        promotion.check()
        try:
            promotion.progressive(plan)
        except Exception as exc:
            if not promotion.moved:
                if isinstance(exc, PipelineError):
                    raise type(exc)(f"{exc}; live has not moved, nothing to roll back") from exc
                raise
            reason = str(exc) if isinstance(exc, PipelineError) else f"{type(exc).__name__}: {exc}"
            try:
                promotion.roll_back(reason)
            except Exception as failed:
                raise StageFailedError(
                    f"{exc}; the automatic rollback failed too ({failed}). Restore live with "
                    f"./pipeline rollback --env {promotion.env}"
                ) from failed
            seconds = promotion.rollback["seconds"] if promotion.rollback else 0.0
            kind = type(exc) if isinstance(exc, PipelineError) else StageFailedError
            raise kind(
                f"{reason}; rolled back automatically in {seconds:.2f}s and "
                f"{promotion.src.short} is quarantined"
            ) from exc
    finally:
        promotion.release()

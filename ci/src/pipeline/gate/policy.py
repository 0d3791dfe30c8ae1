"""The gate: a Decision per environment from the policy and the Change.

It fails closed. Dependabot must be proven by the PR author and by every commit (author,
committer and a verified signature); unknown commits prove nothing; `github.actor` is never
read. Every reason names the fact it rests on."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from pipeline.errors import UsageError
from pipeline.gate.change import SEVERITY, Change, severity

LEVELS = ("auto", "manual", "block")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAMES = {value: name for name, value in SEVERITY.items()}
GITHUB_ENVIRONMENT = {"auto": "production-auto", "manual": "production", "block": "none"}


@dataclass
class Decision:
    preprod: str
    prod: str
    change: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    emergency: bool = False
    frozen: bool = False

    @property
    def environment(self) -> str:
        return GITHUB_ENVIRONMENT[self.prod]

    def for_env(self, env: str) -> str:
        return self.prod if env == "prod" else self.preprod

    def to_json(self) -> dict[str, Any]:
        return {
            "preprod": self.preprod,
            "prod": self.prod,
            "environment": self.environment,
            "emergency": self.emergency,
            "frozen": self.frozen,
            "change": self.change,
            "reasons": self.reasons,
        }


def stricter(a: str, b: str) -> str:
    return a if LEVELS.index(a) >= LEVELS.index(b) else b


def load_policy(path: Path) -> dict[str, Any]:
    try:
        policy = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read policy {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"policy {path} is not valid YAML: {exc}") from None
    required = ("base_branch", "dependabot", "security_label", "decisions", "freeze", "emergency")
    missing = [key for key in required if not isinstance(policy, dict) or key not in policy]
    if missing:
        raise UsageError(f"policy {path} lacks {', '.join(missing)}; see ci/policy.yaml")
    for kind, row in policy["decisions"].items():
        for env, level in row.items():
            if level not in LEVELS:
                raise UsageError(
                    f"policy {path}: decisions.{kind}.{env} is {level!r}, not one of {LEVELS}"
                )
    try:
        ZoneInfo(policy["freeze"]["timezone"])
    except (ZoneInfoNotFoundError, KeyError, ValueError):
        raise UsageError(f"policy {path}: freeze.timezone is not a known time zone") from None
    return policy


def _dependabot(change: Change, policy: dict[str, Any], reasons: list[str]) -> bool:
    bot = policy["dependabot"]["login"]
    committers = set(policy["dependabot"]["committers"])
    ok = True
    if change.author_login != bot or change.author_type != "Bot":
        reasons.append(
            f"PR author is {change.author_login!r} ({change.author_type}), not {bot} (Bot)"
        )
        return False
    if change.commits is None:
        reasons.append("PR commits are unknown (no --commits and none fetched): not Dependabot")
        return False
    if not change.commits:
        reasons.append("PR has no commits: not Dependabot")
        return False
    for commit in change.commits:
        short = commit.sha[:7]
        if commit.author_login != bot:
            reasons.append(f"commit {short} author is {commit.author_login!r}, not {bot}")
            ok = False
        if commit.committer_login not in committers:
            reasons.append(
                f"commit {short} committer is {commit.committer_login!r}, "
                f"not one of {sorted(committers)}"
            )
            ok = False
        if not commit.verified:
            reasons.append(f"commit {short} signature is not verified")
            ok = False
    if ok:
        reasons.append(
            f"PR author and all {len(change.commits)} commits are {bot}, signatures verified"
        )
    return ok


def _security(change: Change, policy: dict[str, Any], reasons: list[str]) -> bool:
    evidence = []
    label = policy["security_label"]
    if label in change.labels:
        evidence.append(f"label {label!r} on a verified Dependabot change")
    ghsa = change.metadata.get("ghsa-id")
    state = str(change.metadata.get("alert-state") or "")
    if ghsa and state.upper() == "OPEN":
        evidence.append(f"security advisory {ghsa} with alert-state OPEN")
    reasons.extend(evidence or ["not a security update (no security label, no open advisory)"])
    return bool(evidence)


def _pipeline_change(change: Change, policy: dict[str, Any]) -> str | None:
    ecosystems = set(policy["dependabot"]["pipeline_ecosystems"])
    ecosystem = change.metadata.get("package-ecosystem")
    branch = change.head_branch or ""
    if not ecosystem and branch.startswith("dependabot/"):
        ecosystem = branch.split("/")[1].replace("-", "_") if branch.count("/") >= 2 else None
    if ecosystem in ecosystems:
        return f"package-ecosystem {ecosystem!r} updates the pipeline itself"
    directory = str(change.metadata.get("directory") or "")
    for prefix in policy["dependabot"]["pipeline_directories"]:
        if directory == prefix or directory.startswith(prefix + "/"):
            return f"directory {directory!r} is part of the pipeline"
    return None


def frozen_at(policy: dict[str, Any], at: datetime) -> str | None:
    """The freeze window `at` falls in, described, or None."""
    freeze = policy["freeze"]
    local = at.astimezone(ZoneInfo(freeze["timezone"]))
    day, clock = DAYS[local.weekday()], local.strftime("%H:%M")
    for window in freeze.get("windows") or []:
        if day in window["days"] and window["from"] <= clock < window["to"]:
            span = f"{day} {window['from']}-{window['to']}"
            return f"prod is frozen: {local:%a %H:%M %Z} is within {span}"
    return None


def decide(change: Change, policy: dict[str, Any], at: datetime) -> Decision:
    reasons: list[str] = []
    rows = policy["decisions"]
    if change.base_branch != policy["base_branch"]:
        reasons.append(
            f"base branch is {change.base_branch!r}, not {policy['base_branch']!r}: "
            "nothing to promote"
        )
        return Decision("block", "block", change.to_json(), reasons)

    is_bot = _dependabot(change, policy, reasons)
    security = False
    if not is_bot:
        kind = "human"
        if policy["security_label"] in change.labels:
            reasons.append(
                f"label {policy['security_label']!r} ignored: the change is not a verified "
                "Dependabot change"
            )
    else:
        worst = max((severity(t) for _, t in change.update_types), default=SEVERITY["major"])
        if not change.update_types:
            reasons.append("update type unknown (no metadata, no front matter): treated as major")
        else:
            listed = ", ".join(f"{d} {t or 'unknown'}" for d, t in change.update_types)
            reasons.append(f"updates: {listed}; strictest is {NAMES[worst]}")
        security = _security(change, policy, reasons)
        if worst == SEVERITY["major"]:
            kind = "dependabot_major_or_unknown"
        elif security and worst == SEVERITY["patch"]:
            kind = "dependabot_security_patch"
        else:
            kind = "dependabot_minor_or_patch"
    preprod, prod = rows[kind]["preprod"], rows[kind]["prod"]
    reasons.append(f"policy row {kind}: preprod {preprod}, prod {prod}")

    if is_bot:
        pipeline = _pipeline_change(change, policy)
        if pipeline:
            reasons.append(f"{pipeline}: prod needs an approval")
            prod = stricter(prod, "manual")
        if change.metadata.get("maintainer-changes") in (True, "true"):
            reasons.append("maintainer-changes is true: the package changed hands, manual review")
            preprod, prod = stricter(preprod, "manual"), stricter(prod, "manual")

    decision = Decision(preprod, prod, change.to_json(), reasons)
    window = frozen_at(policy, at)
    if window:
        decision.frozen = True
        emergency = _emergency(change, policy)
        if emergency:
            decision.emergency = True
            decision.prod = stricter(prod, "manual")
            reasons.append(f"{window}; emergency ({emergency}) skips the freeze but needs approval")
        elif security and prod == "auto" and policy["freeze"].get("security_exempt"):
            reasons.append(f"{window}; security patches are exempt by policy")
        else:
            decision.prod = "block"
            reasons.append(window)
    return decision


def _emergency(change: Change, policy: dict[str, Any]) -> str | None:
    label, allowed = policy["emergency"]["label"], set(policy["emergency"]["allowed"])
    if label not in change.labels:
        return None
    if (
        change.action == "labeled"
        and change.action_label == label
        and change.sender_login in allowed
    ):
        return f"label {label!r} added by {change.sender_login}"
    if change.author_login in allowed:
        return f"label {label!r} on a PR by {change.author_login}"
    return None

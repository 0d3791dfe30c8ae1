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
from pipeline.state.project import Environments

LEVELS = ("auto", "manual", "block")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAMES = {value: name for name, value in SEVERITY.items()}
GITHUB_ENVIRONMENT = {"auto": "production-auto", "manual": "production", "block": "none"}


@dataclass
class Decision:
    """A level (auto, manual, block) for each environment, in promotion order."""

    levels: dict[str, str]
    change: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    emergency: bool = False
    frozen: bool = False

    @property
    def environment(self) -> str:
        """The GitHub environment the last environment's job runs in (its approval rule)."""
        return GITHUB_ENVIRONMENT[list(self.levels.values())[-1]]

    @property
    def github_environments(self) -> dict[str, str]:
        """The GitHub environment each job runs in: a `manual` decision before the last
        environment is answered by `<env>-reviewed`, which has required reviewers, as the last
        environment's is by `production`."""
        *earlier, last = self.levels
        named = {env: f"{env}-reviewed" if self.levels[env] == "manual" else env for env in earlier}
        return {**named, last: self.environment}

    def for_env(self, env: str) -> str:
        if env not in self.levels:
            raise UsageError(
                f"the gate decided for {', '.join(self.levels)}, not {env!r}; decide again with "
                "this repository's promotion_order"
            )
        return self.levels[env]

    def summary(self) -> str:
        return ", ".join(f"{env} {level}" for env, level in self.levels.items())

    def to_json(self) -> dict[str, Any]:
        return {
            **self.levels,
            "environment": self.environment,
            "github_environments": self.github_environments,
            "emergency": self.emergency,
            "frozen": self.frozen,
            "change": self.change,
            "reasons": self.reasons,
        }


def stricter(a: str, b: str) -> str:
    return a if LEVELS.index(a) >= LEVELS.index(b) else b


def load_policy(path: Path, envs: Environments) -> dict[str, Any]:
    """The policy file, checked, with each decisions row resolved to one level per environment:
    its own key if it names the environment, else `protected` for a protected environment and
    `first` for any other."""
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
    rows = policy["decisions"]
    if not isinstance(rows, dict) or not all(isinstance(row, dict) for row in rows.values()):
        raise UsageError(f"policy {path}: decisions must map each kind of change to a row")
    for kind, row in rows.items():
        for env, level in row.items():
            if level not in LEVELS:
                raise UsageError(
                    f"policy {path}: decisions.{kind}.{env} is {level!r}, not one of {LEVELS}"
                )
            if env not in (*envs.order, "first", "protected"):
                raise UsageError(
                    f"policy {path}: decisions.{kind} names {env!r}, which is not in "
                    f"promotion_order ({', '.join(envs.order)}) nor first or protected"
                )
        rows[kind] = {env: _level(row, env, envs, f"policy {path}: decisions.{kind}")
                      for env in envs.order}  # fmt: skip
    try:
        ZoneInfo(policy["freeze"]["timezone"])
    except (ZoneInfoNotFoundError, KeyError, ValueError):
        raise UsageError(f"policy {path}: freeze.timezone is not a known time zone") from None
    return policy


def _level(row: dict[str, str], env: str, envs: Environments, where: str) -> str:
    default = "protected" if env in envs.protected else "first"
    if env in row:
        return row[env]
    if default in row:
        return row[default]
    raise UsageError(f"{where} gives no level for {env}; add `{env}:` or `{default}:`")


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
    """The freeze window `at` falls in, described, or None; protected environments freeze."""
    freeze = policy["freeze"]
    local = at.astimezone(ZoneInfo(freeze["timezone"]))
    day, clock = DAYS[local.weekday()], local.strftime("%H:%M")
    for window in freeze.get("windows") or []:
        if day in window["days"] and window["from"] <= clock < window["to"]:
            span = f"{day} {window['from']}-{window['to']}"
            return f"{local:%a %H:%M %Z} is within {span}"
    return None


def decide(change: Change, policy: dict[str, Any], at: datetime, envs: Environments) -> Decision:
    """`policy` as load_policy returned it for the same `envs`."""
    reasons: list[str] = []
    rows = policy["decisions"]
    if change.base_branch != policy["base_branch"]:
        reasons.append(
            f"base branch is {change.base_branch!r}, not {policy['base_branch']!r}: "
            "nothing to promote"
        )
        return Decision(dict.fromkeys(envs.order, "block"), change.to_json(), reasons)

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
    levels = dict(rows[kind])
    decision = Decision(levels, change.to_json(), reasons)
    reasons.append(f"policy row {kind}: {decision.summary()}")
    protected = [env for env in envs.order if env in envs.protected]
    names = " and ".join(protected)

    def tighten(to: str, which: list[str]) -> None:
        for env in which:
            levels[env] = stricter(levels[env], to)

    if is_bot:
        pipeline = _pipeline_change(change, policy)
        if pipeline and protected:
            reasons.append(f"{pipeline}: {names} needs an approval")
            tighten("manual", protected)
        if change.metadata.get("maintainer-changes") in (True, "true"):
            reasons.append("maintainer-changes is true: the package changed hands, manual review")
            tighten("manual", list(envs.order))

    window = frozen_at(policy, at)
    if window and protected:
        window = f"{names} {'is' if len(protected) == 1 else 'are'} frozen: {window}"
        decision.frozen = True
        emergency = _emergency(change, policy)
        if emergency:
            decision.emergency = True
            tighten("manual", protected)
            reasons.append(f"{window}; emergency ({emergency}) skips the freeze but needs approval")
        elif (
            security
            and all(levels[env] == "auto" for env in protected)
            and policy["freeze"].get("security_exempt")
        ):
            reasons.append(f"{window}; security patches are exempt by policy")
        else:
            tighten("block", protected)
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
    if change.label_actors.get(label) in allowed:
        return f"label {label!r} added by {change.label_actors[label]}"
    if change.author_login in allowed:
        return f"label {label!r} on a PR by {change.author_login}"
    return None

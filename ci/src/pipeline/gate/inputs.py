"""Wiring the gate to its inputs: files and flags in, a Decision out (used by `gate` and
`promote`, so both decide the same way)."""

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import gate
from pipeline.errors import UsageError
from pipeline.gate import change, github
from pipeline.state import project
from pipeline.state.project import Environments

DEFAULT_POLICY = Path("ci/policy.yaml")


def add_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--event", type=Path, required=required, help="GitHub pull_request event JSON"
    )
    parser.add_argument("--commits", type=Path, help="the PR's commits (list-commits API JSON)")
    parser.add_argument("--metadata", type=Path, help="dependabot/fetch-metadata outputs as JSON")
    parser.add_argument("--policy", type=Path, help=f"policy file (default {DEFAULT_POLICY})")
    parser.add_argument("--at", help="decide as of this ISO time (default: now)")


def parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--at {value!r} is not an ISO time such as 2026-11-20T15:30:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise UsageError(f"--at {value!r} has no time zone; add one, e.g. +00:00")
    return moment


@dataclass(frozen=True)
class Files:
    """Where a decision's facts are: the pull-request event and, when given, its commits,
    dependabot/fetch-metadata's outputs, another policy file, and the moment to decide at."""

    event: Path
    commits: Path | None = None
    metadata: Path | None = None
    policy: Path | None = None
    at: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace, at: str | None = None) -> "Files":
        """The flags `add_arguments` defines; `at` overrides --at."""
        return cls(args.event, args.commits, args.metadata, args.policy, at or args.at)


def from_files(repo: Path, files: Files) -> gate.Decision:
    envs = project.promotion_order(repo)
    rules = gate.load_policy(files.policy or repo / DEFAULT_POLICY, envs)
    moment = parse_time(files.at)
    raw_event = change.load_json(files.event, "event")
    meta = change.load_json(files.metadata, "metadata") if files.metadata else None
    if meta is not None and not isinstance(meta, dict):
        raise UsageError(
            f"the metadata file {files.metadata} must be a JSON object of fetch-metadata outputs"
        )
    if files.commits:
        commit_list: list[change.Commit] | None = change.parse_commits(
            change.load_json(files.commits, "commits")
        )
    else:
        pull_request = raw_event.get("pull_request") if isinstance(raw_event, dict) else None
        number = pull_request.get("number") if isinstance(pull_request, dict) else None
        fetched = github.fetch_commits(number) if isinstance(number, int) else None
        commit_list = change.parse_commits(fetched) if fetched is not None else None
    return gate.decide(change.read(raw_event, commit_list, meta), rules, moment, envs)


def without_event(envs: Environments) -> gate.Decision:
    """A local run with no pull request establishes nothing about the change: an unprotected
    environment takes it, a protected one needs an approval."""
    protected = " and ".join(env for env in envs.order if env in envs.protected) or "nothing"
    reason = f"no pull-request event given: a local promotion; {protected} needs an approval"
    reason += " (--approve)"
    levels = {env: "manual" if env in envs.protected else "auto" for env in envs.order}
    return gate.Decision(levels, {"source": "local"}, [reason])


def parse_approval(value: str | None, flag: str = "--approve") -> dict[str, str] | None:
    if value is None:
        return None
    name, _, reason = value.partition(":")
    if not name.strip() or not reason.strip():
        raise UsageError(f'{flag} {value!r} must be "NAME: REASON", e.g. "alice: reviewed PR 42"')
    return {"approver": name.strip(), "reason": reason.strip()}


def capture(repo: Path, files: Files) -> dict[str, Any]:
    """The gate's inputs as values, for the run record: replay decides from exactly these, as of
    the same moment, so a freeze window decides the same way."""
    event, commits, metadata, at = files.event, files.commits, files.metadata, files.at
    policy_path = files.policy or repo / DEFAULT_POLICY
    try:
        policy_text = policy_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the policy file {policy_path}: {exc.strerror}") from None
    return {
        "event": change.load_json(event, "event"),
        "commits": change.load_json(commits, "commits") if commits else None,
        "metadata": change.load_json(metadata, "metadata") if metadata else None,
        "policy": policy_text,
        "at": parse_time(at).isoformat(),
    }

"""The Change: what is being promoted and why, read from GitHub's event payload, the PR's commit
list and dependabot/fetch-metadata's outputs. Reading never decides anything; it records facts
(and which facts are missing) for the gate."""

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import UsageError

SEVERITY = {"patch": 1, "minor": 2, "major": 3}
UPDATE_TYPE = re.compile(r"^version-update:semver-(patch|minor|major)$")


@dataclass(frozen=True)
class Commit:
    sha: str
    author_login: str | None
    committer_login: str | None
    verified: bool
    message: str


@dataclass
class Change:
    number: int | None
    head_sha: str | None
    base_branch: str | None
    head_branch: str | None
    author_login: str | None
    author_type: str | None
    labels: list[str]
    action: str | None
    sender_login: str | None
    action_label: str | None
    # Who last added each label, as the merge's rebuilt event carries it (`labeled_by`, from the
    # issue events API): after a merge there is no `labeled` event with a sender to read.
    label_actors: dict[str, str]
    commits: list[Commit] | None  # None: unknown (not given and not fetched)
    metadata: dict[str, Any]
    update_types: list[tuple[str, str]] = field(default_factory=list)  # (dependency, type)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["commits"] = (
            None
            if self.commits is None
            else [{k: v for k, v in asdict(c).items() if k != "message"} for c in self.commits]
        )
        return data


def load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"the {what} file {path} is not valid JSON ({exc}); pass the file "
                         "GitHub wrote, unmodified") from None  # fmt: skip


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_commits(raw: Any) -> list[Commit]:
    if not isinstance(raw, list):
        raise UsageError(
            "the commits file must be the JSON array GitHub's list-commits API returns"
        )
    commits = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise UsageError("every entry of the commits file must be a JSON object")
        commits.append(
            Commit(
                sha=_str(entry.get("sha")) or "unknown",
                author_login=_str(_get(entry, "author", "login")),
                committer_login=_str(_get(entry, "committer", "login")),
                verified=_get(entry, "commit", "verification", "verified") is True,
                message=_str(_get(entry, "commit", "message")) or "",
            )
        )
    return commits


def front_matter_updates(message: str) -> list[tuple[str, str]] | None:
    """(dependency-name, update-type) from Dependabot's YAML front matter, None if absent."""
    parts = re.split(r"^---\s*$", message, maxsplit=1, flags=re.MULTILINE)
    if len(parts) < 2:
        return None
    body = re.split(r"^\.\.\.\s*$", parts[1], maxsplit=1, flags=re.MULTILINE)[0]
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError:
        return None
    deps = data.get("updated-dependencies") if isinstance(data, dict) else None
    if not isinstance(deps, list):
        return None
    return [
        (str(_get(d, "dependency-name") or "?"), str(_get(d, "update-type") or "")) for d in deps
    ]


def metadata_updates(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    updates = []
    raw = metadata.get("updated-dependencies-json")
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if isinstance(raw, list):
        updates += [
            (str(_get(d, "dependencyName") or "?"), str(_get(d, "updateType") or "")) for d in raw
        ]
    if "update-type" in metadata:
        updates.append(
            (str(metadata.get("dependency-names") or "?"), str(metadata["update-type"] or ""))
        )
    return updates


def _label_actors(raw: Any) -> dict[str, str]:
    """Label name → login; anything else in the field is ignored, never trusted."""
    if not isinstance(raw, dict):
        return {}
    return {name: login for name, login in raw.items() if isinstance(login, str) and login}


def read(event: Any, commits: list[Commit] | None, metadata: dict[str, Any] | None) -> Change:
    if not isinstance(event, dict):
        raise UsageError("the event file must be a GitHub pull_request event (a JSON object)")
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        raise UsageError(
            "the event has no pull_request object; pass the payload of a pull_request event "
            "(for a push, the pull request associated with the merge commit)"
        )
    meta = metadata if isinstance(metadata, dict) else {}
    raw_labels = pr.get("labels")
    labels = [
        name
        for label in (raw_labels if isinstance(raw_labels, list) else [])
        if (name := _str(_get(label, "name")))
    ]
    change = Change(
        number=pr.get("number") if isinstance(pr.get("number"), int) else None,
        head_sha=_str(_get(pr, "head", "sha")),
        base_branch=_str(_get(pr, "base", "ref")),
        head_branch=_str(_get(pr, "head", "ref")),
        author_login=_str(_get(pr, "user", "login")),
        author_type=_str(_get(pr, "user", "type")),
        labels=labels,
        action=_str(event.get("action")),
        sender_login=_str(_get(event, "sender", "login")),
        action_label=_str(_get(event, "label", "name")),
        label_actors=_label_actors(event.get("labeled_by")),
        commits=commits,
        metadata=meta,
    )
    updates = metadata_updates(meta)
    if not updates and commits:
        for commit in commits:
            updates += front_matter_updates(commit.message) or []
    change.update_types = updates
    return change


def severity(update_type: str) -> int:
    """patch 1, minor 2, major 3; empty or unknown is major."""
    match = UPDATE_TYPE.match(update_type.strip())
    return SEVERITY[match[1]] if match else SEVERITY["major"]

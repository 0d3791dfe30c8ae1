"""What a Terraform plan would change, and which of those changes only the emulator causes.

moto reports a few attributes differently from AWS, so a plan right after an apply can show
changes that no configuration could remove. Each is listed here with its reason; anything else
is a real change."""

from dataclasses import dataclass
from typing import Any

EMULATOR_DIFFS = {
    ("aws_lambda_event_source_mapping", "function_name"): (
        "moto returns the version the alias points to (…:function:name:N) instead of the alias "
        "ARN the mapping was created with"
    ),
}
IGNORED_ACTIONS = (["no-op"], ["read"])


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    actions: tuple[str, ...]
    attributes: tuple[str, ...]

    def emulator_reason(self) -> str | None:
        """The reason when every changed attribute is a known emulator difference."""
        if self.actions != ("update",) or not self.attributes:
            return None
        reasons = [EMULATOR_DIFFS.get((self.type, name)) for name in self.attributes]
        return "; ".join(reasons) if all(reasons) else None  # type: ignore[arg-type]

    def describe(self) -> str:
        return f"{self.address} {'/'.join(self.actions)} {', '.join(self.attributes)}".strip()


def changes(plan: dict[str, Any]) -> list[Change]:
    found = []
    for resource in plan.get("resource_changes", []):
        change = resource["change"]
        if change["actions"] in IGNORED_ACTIONS:
            continue
        before, after = change.get("before") or {}, change.get("after") or {}
        unknown = change.get("after_unknown") or {}
        names = sorted(
            key
            for key in set(before) | set(after) | set(unknown)
            if before.get(key) != after.get(key) or unknown.get(key) is True
        )
        found.append(
            Change(resource["address"], resource["type"], tuple(change["actions"]), tuple(names))
        )
    return found


def unexplained(plan: dict[str, Any], emulated: bool) -> list[Change]:
    """Changes that are not known emulator differences (all of them on real AWS)."""
    return [c for c in changes(plan) if not (emulated and c.emulator_reason())]

"""Terraform state-lock conflicts: someone else's lock, or one this very command left behind.

The S3 backend takes its lock with a conditional DynamoDB PutItem. When the answer to that
PutItem is lost (a connection reset under load), the AWS SDK sends it again, and the retry fails
its condition on the item the first attempt wrote: Terraform then reports a conflict with a lock
it holds itself, which nobody will ever release. Such a lock was written by this user on this
host after the command started; any other lock belongs to someone else and must be left alone.
"""

import os
import pwd
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

CONFLICT = "Error acquiring the state lock"
_FIELD = re.compile(r"^[│\s]*(ID|Who|Operation|Created):[ \t]*(.*?)\s*$", re.MULTILINE)
# Terraform prints Go's time.Time: "2026-11-22 08:36:41.011635131 +0000 UTC".
_CREATED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? \+0000 UTC$")


@dataclass(frozen=True)
class HeldLock:
    """The lock Terraform says it could not take, as its error message describes it."""

    id: str
    who: str
    operation: str
    created: datetime


def conflict(stderr: str) -> HeldLock | None:
    """The lock named by a state-lock conflict in Terraform's output; None for other errors."""
    if CONFLICT not in stderr:
        return None
    fields = dict(_FIELD.findall(stderr))
    created = _CREATED.match(fields.get("Created", ""))
    if not fields.get("ID") or created is None:
        return None
    fraction = (created.group(2) or "0")[:6].ljust(6, "0")
    when = datetime.strptime(f"{created.group(1)}.{fraction}", "%Y-%m-%d %H:%M:%S.%f")
    return HeldLock(fields["ID"], fields.get("Who", ""), fields.get("Operation", ""),
                    when.replace(tzinfo=UTC))  # fmt: skip


def this_holder() -> str:
    """Who Terraform records as the lock holder when this process runs it: user@host."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # no passwd entry (some containers): Terraform's user lookup fails too
        user = ""
    return f"{user}@{socket.gethostname()}"


def left_by_this_command(lock: HeldLock, started: float) -> bool:
    """Whether the lock can only be the command's own: same holder, created after it started."""
    return lock.who == this_holder() and lock.created.timestamp() >= started

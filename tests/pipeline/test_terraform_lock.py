"""A state lock Terraform took itself is released and the command run again; anyone else's lock
is left alone and fails the command, as Terraform would."""

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.adapters import emulator
from pipeline.adapters.terraform import backend, state_lock
from pipeline.adapters.terraform.workspace import OWN_LOCK_RETRIES, Workspace
from pipeline.errors import StageFailedError
from pipeline.state.stage_log import StageLog
from tests.conftest import REPO
from tests.environments import emulated

pytestmark = pytest.mark.pipeline
ENV = "preprod"
# Seen in a fault-injection lane under heavy load: the lock it names was created by the very
# apply that reports it, one second before.
SEEN = """Acquiring state lock. This may take a few moments...

Error: Error acquiring the state lock

Error message: operation error DynamoDB: PutItem, https response error
StatusCode: 400, RequestID:
xH6RRGkEkL3NhOTkU0m9sWfw7ZiE32TuKKIkm7AlZqN9ygeWcgbw,
ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        2d4c14f9-557c-201d-8678-612d9214d4fe
  Path:      newsflow-tfstate/prod/terraform.tfstate
  Operation: OperationTypeApply
  Who:       root@vm
  Version:   1.11.4
  Created:   2026-11-22 08:36:41.011635131 +0000 UTC
  Info:      
"""  # noqa: W291 - Terraform's own trailing blank


def test_a_conflict_message_is_read_into_the_lock_it_names() -> None:
    lock = state_lock.conflict(SEEN)
    assert lock == state_lock.HeldLock(
        "2d4c14f9-557c-201d-8678-612d9214d4fe",
        "root@vm",
        "OperationTypeApply",
        datetime(2026, 11, 22, 8, 36, 41, 11635, tzinfo=UTC),
    )
    assert state_lock.conflict("Error: Invalid reference\n  ID: x") is None


def test_only_a_lock_of_this_holder_created_after_the_start_is_the_commands_own() -> None:
    lock = state_lock.conflict(SEEN)
    assert lock is not None
    mine = state_lock.HeldLock(lock.id, state_lock.this_holder(), lock.operation, lock.created)
    assert state_lock.left_by_this_command(mine, lock.created.timestamp() - 1)
    assert not state_lock.left_by_this_command(mine, lock.created.timestamp() + 1)
    other = state_lock.HeldLock(lock.id, "ops@laptop", lock.operation, lock.created)
    assert not state_lock.left_by_this_command(other, lock.created.timestamp() - 1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, dict]]:
    server = emulator.start(tmp_path_factory.mktemp("lock-moto") / "moto.log")
    try:
        target = emulated(server)
        state = tmp_path_factory.mktemp("lock-state")
        config = backend.ensure(REPO, state, ENV, target)
        work = Workspace.prepare(REPO, state, ENV, target)
        work.init(StageLog())
        yield work, {"target": target, **config}
    finally:
        server.stop()


def _forge_lock(setup: dict, who: str, created: datetime) -> str:
    """A lock item exactly as the S3 backend writes it (LockID = bucket/key, Info = JSON)."""
    lock_id = str(uuid.uuid4())
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Info": "", "Who": who,
            "Version": "1.11.4", "Created": created.isoformat().replace("+00:00", "Z"),
            "Path": f"{setup['bucket']}/{setup['key']}"}  # fmt: skip
    path = f"{setup['bucket']}/{setup['key']}"
    setup["target"].client("dynamodb").put_item(
        TableName=setup["dynamodb_table"],
        Item={"LockID": {"S": path}, "Info": {"S": json.dumps(info)}},
        ConditionExpression="attribute_not_exists(LockID)",
    )
    return lock_id


def _forge_own_lock(setup: dict) -> str:
    """The lock a retried PutItem of this very command leaves: its holder, taken just now."""
    return _forge_lock(setup, state_lock.this_holder(), datetime.now(UTC) + timedelta(minutes=1))


def _lock_item(setup: dict) -> dict | None:
    return (
        setup["target"]
        .client("dynamodb")
        .get_item(
            TableName=setup["dynamodb_table"],
            Key={"LockID": {"S": f"{setup['bucket']}/{setup['key']}"}},
        )
        .get("Item")
    )


# untaint takes the state lock and, with -allow-missing, succeeds on an empty state.
LOCKING = ["untaint", "-allow-missing", "-no-color", "module.app.aws_s3_bucket.packages"]


def test_its_own_lock_is_released_and_the_command_run_again(
    workspace: tuple[Workspace, dict],
) -> None:
    work, setup = workspace
    # The retried PutItem cannot be provoked on demand; a lock of this holder dated after the
    # command's start is what it leaves, so this one is dated a minute ahead.
    lock_id = _forge_own_lock(setup)
    log = StageLog()
    assert work.run(LOCKING, log) == 0
    text = "\n".join(log.lines)
    assert f"met the state lock {lock_id} it had taken itself" in text
    assert f"$ terraform force-unlock -force {lock_id}" in text
    assert text.count("$ terraform untaint") == 2
    assert _lock_item(setup) is None


@pytest.mark.parametrize(("recurring", "code"), [(2, 0), (5, 1)], ids=["twice", "beyond the limit"])
def test_a_recurring_own_lock_is_released_a_bounded_number_of_times(
    workspace: tuple[Workspace, dict], monkeypatch: pytest.MonkeyPatch, recurring: int, code: int
) -> None:
    """Under load each attempt's PutItem can be a retried one again: released each time, up to
    the limit; past it the run fails on the lock instead of retrying for ever."""
    work, setup = workspace
    _forge_own_lock(setup)
    execute, unlocked = work._execute, []

    def relocking(args: list[str], log: StageLog, timeout: float) -> tuple[int, str]:
        done = execute(args, log, timeout)
        if args[0] == "force-unlock":
            unlocked.append(args[-1])
            if len(unlocked) < recurring:
                _forge_own_lock(setup)
        return done

    monkeypatch.setattr(work, "_execute", relocking)
    log = StageLog()
    if code:
        with pytest.raises(StageFailedError, match="Error acquiring the state lock"):
            work.run(LOCKING, log)
    else:
        assert work.run(LOCKING, log) == 0
    attempts = min(recurring, OWN_LOCK_RETRIES) + 1
    assert "\n".join(log.lines).count("$ terraform untaint") == attempts
    assert len(unlocked) == min(recurring, OWN_LOCK_RETRIES)
    if code:  # the last attempt's lock is still there: the run said so and left it
        assert _lock_item(setup) is not None
        setup["target"].client("dynamodb").delete_item(
            TableName=setup["dynamodb_table"],
            Key={"LockID": {"S": f"{setup['bucket']}/{setup['key']}"}},
        )
    assert _lock_item(setup) is None


@pytest.mark.parametrize(
    ("who", "age"),
    [("ops@laptop", timedelta(minutes=1)), ("", timedelta(hours=-1))],
    ids=["someone else's", "this holder's, from before the command"],
)
def test_any_other_lock_is_left_alone(
    workspace: tuple[Workspace, dict], who: str, age: timedelta
) -> None:
    work, setup = workspace
    holder = who or state_lock.this_holder()
    lock_id = _forge_lock(setup, holder, datetime.now(UTC) + age)
    try:
        started = time.monotonic()
        with pytest.raises(StageFailedError, match="Error acquiring the state lock"):
            work.run(LOCKING, StageLog())
        assert time.monotonic() - started < 60
        item = _lock_item(setup)
        assert item is not None and json.loads(item["Info"]["S"])["ID"] == lock_id
    finally:
        setup["target"].client("dynamodb").delete_item(
            TableName=setup["dynamodb_table"],
            Key={"LockID": {"S": f"{setup['bucket']}/{setup['key']}"}},
        )

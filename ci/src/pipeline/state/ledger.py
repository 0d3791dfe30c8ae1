"""The Ledger: each environment's own history, kept in that environment
(`<env>-pipeline-ledger`, a DynamoDB table the pipeline owns like the state bucket).

Every write is conditional, so an entry is never overwritten and two promotions cannot both
claim the same slot. Entries are stored as JSON documents to keep their shape exact."""

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from pipeline.adapters.target import Target
from pipeline.errors import RefusedError, StageFailedError

DEPLOY = "deploy"
ARTIFACT = "artifact"  # sk = sha: where each function's zip of that sha is, and its digest
VALIDATED = "validated"  # sk = sha#run: the digests that passed verification in this environment
LOCK = "lock"  # sk = env: the one promotion allowed to change the environment now
QUARANTINE = "quarantine"  # sk = sha#time: a sha prod rejected; promoting it again is refused
RELEASE = "unquarantine"  # sk = sha#time: a named person's decision to allow it again
EVENT = "event"  # sk = time#run: things worth an audit trail (a stale lock broken)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Ledger:
    target: Target
    env: str

    @property
    def table(self) -> str:
        return f"{self.env}-pipeline-ledger"

    def _client(self) -> Any:
        return self.target.client("dynamodb")

    def exists(self) -> bool:
        try:
            self._client().describe_table(TableName=self.table)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            return False
        return True

    def ensure(self) -> None:
        if self.exists():
            return
        client = self._client()
        client.create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        client.get_waiter("table_exists").wait(TableName=self.table)

    def _put(self, pk: str, sk: str, data: dict[str, Any], *, replace: bool = False) -> None:
        condition = {} if replace else {"ConditionExpression": "attribute_not_exists(pk)"}
        try:
            self._client().put_item(
                TableName=self.table,
                Item={"pk": {"S": pk}, "sk": {"S": sk}, "data": {"S": json.dumps(data)}},
                **condition,  # type: ignore[arg-type]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StageFailedError(
                    f"ledger entry {pk}/{sk} already exists in {self.table}"
                ) from None
            raise

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = (
            self._client()
            .get_item(
                TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
            )
            .get("Item")
        )
        return json.loads(item["data"]["S"]) if item else None

    def _query(self, pk: str, newest_first: bool = True, limit: int | None = None) -> list[dict]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": not newest_first,
        }
        entries: list[dict] = []
        while True:
            page = self._client().query(**kwargs)
            entries += [json.loads(item["data"]["S"]) for item in page["Items"]]
            if "LastEvaluatedKey" not in page or (limit and len(entries) >= limit):
                return entries[:limit] if limit else entries
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record(self, entry: dict[str, Any]) -> None:
        """Append a deployment entry; its key sorts by time and cannot collide."""
        self._put(DEPLOY, f"{entry['finished_at']}#{entry['run_id']}", entry)

    def deployments(self, limit: int | None = None) -> list[dict[str, Any]]:
        return self._query(DEPLOY, limit=limit)

    def last_good(self) -> dict[str, Any] | None:
        return next((e for e in self.deployments() if e.get("result") == "ok"), None)

    def record_artifact(self, sha: str, bucket: str, functions: dict[str, dict[str, str]]) -> None:
        """Remember where the sha's zips are. A clean sha's entry is written once and must never
        change; a `-dirty` one is a work in progress and is replaced."""
        entry = {"sha": sha, "bucket": bucket, "functions": functions}
        if sha.endswith("-dirty"):
            self._put(ARTIFACT, sha, entry, replace=True)
            return
        existing = self._get(ARTIFACT, sha)
        if existing is None:
            self._put(ARTIFACT, sha, entry)
        elif existing != entry:
            raise StageFailedError(
                f"the ledger of {self.env} already records different artifacts for {sha}; "
                "the same sha must always mean the same bytes. Commit and promote a new sha"
            )

    def artifact(self, sha: str) -> dict[str, Any] | None:
        return self._get(ARTIFACT, sha)

    def find_code(self, sha256: str) -> tuple[str, str] | None:
        """The (bucket, key) of a zip with this hex sha256, from the artifact entries."""
        for entry in self._query(ARTIFACT):
            for meta in entry["functions"].values():
                if meta["sha256"] == sha256:
                    return entry["bucket"], meta["key"]
        return None

    def mark_validated(self, sha: str, digests: dict[str, str], run_id: str) -> None:
        self._put(VALIDATED, f"{sha}#{run_id}", {"sha": sha, "digests": digests, "run_id": run_id})

    def validated_shas(self) -> list[str]:
        return list(dict.fromkeys(e["sha"] for e in self._query(VALIDATED)))

    def validations(self, sha: str) -> list[dict[str, Any]]:
        return [e for e in self._query(VALIDATED) if e["sha"] == sha]

    # -- the environment lock -----------------------------------------------------------------

    def acquire_lock(
        self,
        owner: str,
        run_id: str,
        ttl_seconds: float,
        breaking: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """Take the lock by conditional write; returns the lock it replaced, if any.

        A live lock held by another run is refused with its holder named, unless a person breaks
        it (`breaking`: approver and reason), e.g. after its run was killed. One past its expiry
        is broken automatically. Every break is recorded."""
        expires = time.time() + ttl_seconds
        holder = {"owner": owner, "run_id": run_id, "taken_at": now_iso(), "expires": expires}
        condition = {} if breaking else {
            "ConditionExpression": "attribute_not_exists(pk) OR expires < :now",
            "ExpressionAttributeValues": {":now": {"N": f"{time.time():.3f}"}},
        }  # fmt: skip
        try:
            response = self._client().put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": LOCK},
                    "sk": {"S": self.env},
                    "data": {"S": json.dumps(holder)},
                    "expires": {"N": f"{expires:.3f}"},
                    "run_id": {"S": run_id},
                },
                ReturnValues="ALL_OLD",
                **condition,  # type: ignore[arg-type]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise RefusedError(self._locked_message()) from None
        old = response.get("Attributes")
        if not old:
            return None
        replaced = json.loads(old["data"]["S"])
        event = {
            "event": "lock broken by a person" if breaking else "stale lock broken",
            "lock": replaced, "by": owner, "run_id": run_id, "approval": breaking,
        }  # fmt: skip
        self._put(EVENT, f"{now_iso()}#{run_id}", event)
        return replaced

    def _locked_message(self) -> str:
        current = self.lock() or {}
        until = datetime.fromtimestamp(current.get("expires", 0), UTC).isoformat(timespec="seconds")
        good = self.last_good()
        recover = (
            f"./pipeline rollback --env {self.env} --to {good['sha'][:12]} "
            '--break-lock "NAME: REASON" (restores live to the last good deployment)'
            if good
            else f'./pipeline promote --env {self.env} --break-lock "NAME: REASON"'
        )
        return (
            f"{self.env} is locked by {current.get('owner', '?')} (run "
            f"{current.get('run_id', '?')}, since {current.get('taken_at', '?')}); wait for that "
            f"run to finish. If it died, its lock expires at {until}; to recover now, run {recover}"
        )

    def release_lock(self, run_id: str) -> None:
        """Release only our own lock; a lock broken by someone else is not ours to delete."""
        try:
            self._client().delete_item(
                TableName=self.table,
                Key={"pk": {"S": LOCK}, "sk": {"S": self.env}},
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def lock(self) -> dict[str, Any] | None:
        return self._get(LOCK, self.env)

    def events(self) -> list[dict[str, Any]]:
        return self._query(EVENT)

    # -- quarantine -------------------------------------------------------------------------

    def quarantine(self, sha: str, reason: str, run_id: str) -> None:
        self._put(QUARANTINE, f"{sha}#{now_iso()}",
                  {"sha": sha, "reason": reason, "run_id": run_id, "at": now_iso()})  # fmt: skip

    def unquarantine(self, sha: str, approval: dict[str, str], run_id: str) -> None:
        self._put(RELEASE, f"{sha}#{now_iso()}",
                  {"sha": sha, **approval, "run_id": run_id, "at": now_iso()})  # fmt: skip

    def quarantined(self, sha: str) -> dict[str, Any] | None:
        """The sha's latest quarantine, unless someone has released it since."""
        held = [e for e in self._query(QUARANTINE) if e["sha"] == sha]
        released = [e for e in self._query(RELEASE) if e["sha"] == sha]
        if held and (not released or released[0]["at"] < held[0]["at"]):
            return held[0]
        return None

    def quarantines(self) -> list[dict[str, Any]]:
        """Every sha currently quarantined, newest first."""
        seen: set[str] = set()
        current = []
        for entry in self._query(QUARANTINE):
            if entry["sha"] not in seen:
                seen.add(entry["sha"])
                if self.quarantined(entry["sha"]):
                    current.append(entry)
        return current

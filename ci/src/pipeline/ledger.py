"""The Ledger: each environment's own history, kept in that environment
(`<env>-pipeline-ledger`, a DynamoDB table the pipeline owns like the state bucket).

Every write is conditional, so an entry is never overwritten and two promotions cannot both
claim the same slot. Entries are stored as JSON documents to keep their shape exact."""

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pipeline.errors import StageFailedError
from pipeline.target import Target

DEPLOY = "deploy"


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

    def _put(self, pk: str, sk: str, data: dict[str, Any]) -> None:
        try:
            self._client().put_item(
                TableName=self.table,
                Item={"pk": {"S": pk}, "sk": {"S": sk}, "data": {"S": json.dumps(data)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StageFailedError(
                    f"ledger entry {pk}/{sk} already exists in {self.table}"
                ) from None
            raise

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

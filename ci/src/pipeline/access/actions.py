"""From an API call to what IAM authorizes: the action, the resource ARNs and the condition keys.

IAM names most actions `<prefix>:<Operation>`; the exceptions below are the documented ones
(Service Authorization Reference) for the operations this project's code and Terraform's AWS
provider make. A call this module cannot place is reported, never silently allowed."""

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pipeline.access.recording import Call

# IAM's service prefixes where they differ from botocore's service names.
PREFIXES = {"resourcegroupstaggingapi": "tag"}
ACTIONS = {
    "s3": {
        "HeadBucket": "ListBucket",
        "HeadObject": "GetObject",
        "ListObjects": "ListBucket",
        "ListObjectsV2": "ListBucket",
        "ListObjectVersions": "ListBucketVersions",
        "ListBuckets": "ListAllMyBuckets",
        "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
        "GetBucketCors": "GetBucketCORS",
        "GetBucketEncryption": "GetEncryptionConfiguration",
        "PutBucketEncryption": "PutEncryptionConfiguration",
        "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
        "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
        "GetBucketReplication": "GetReplicationConfiguration",
        "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
        "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
        "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
        "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
        "GetBucketNotificationConfiguration": "GetBucketNotification",
        "DeleteObjects": "DeleteObject",
        "CreateMultipartUpload": "PutObject",
        "UploadPart": "PutObject",
        "CompleteMultipartUpload": "PutObject",
        "DeleteBucketEncryption": "PutEncryptionConfiguration",
        "DeleteBucketLifecycle": "PutLifecycleConfiguration",
        "GetBucketLifecycle": "GetLifecycleConfiguration",
        "PutBucketLifecycle": "PutLifecycleConfiguration",
    },
    "sqs": {
        "SendMessageBatch": "SendMessage",
        "DeleteMessageBatch": "DeleteMessage",
        "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    },
    "lambda": {
        "Invoke": "InvokeFunction",
        "InvokeWithResponseStream": "InvokeFunction",
    },
}


@dataclass(frozen=True)
class Request:
    """What IAM evaluates for one call on one resource."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Lookup:
    """Facts the calls themselves do not carry, read from the emulator after the run."""

    account: str
    secrets: dict[str, str] = field(default_factory=dict)  # name → ARN
    hash_keys: dict[str, str] = field(default_factory=dict)  # table → partition key attribute
    mappings: dict[str, str] = field(default_factory=dict)  # event source mapping → function
    aliases: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # alias → (key, all)


class Unplaced(Exception):
    """The call cannot be turned into an IAM request; its description says why."""


def action(call: Call) -> str:
    if call.service == "budgets":
        verb = "View" if call.operation.startswith("Describe") else "Modify"
        if not call.operation.endswith("ForResource"):
            return f"budgets:{verb}Budget"
    name = ACTIONS.get(call.service, {}).get(call.operation, call.operation)
    return f"{PREFIXES.get(call.service, call.service)}:{name}"


def requests_for(call: Call, lookup: Lookup) -> list[Request]:
    """The IAM requests a call is: usually one, one per resource for calls naming several."""
    if not call.operation:
        raise Unplaced(f"an unrecognised {call.service or 'unsigned'} request {call.params}")
    place = _PLACES.get(call.service)
    if place is None:
        raise Unplaced(f"{call.service}:{call.operation}: no IAM placement for this service")
    if call.operation == "CopyObject":  # IAM authorizes a copy as a read and a write
        source = call.params["CopySource"].split("?", 1)[0]
        destination = f"arn:aws:s3:::{call.params['Bucket']}/{call.params['Key']}"
        return [
            Request("s3:PutObject", destination),
            Request("s3:GetObject", f"arn:aws:s3:::{source}"),
        ]
    arn = _Arns(call.region, lookup.account)
    found = place(call, arn, lookup)
    requests = found if isinstance(found, list) else [found]
    return [
        Request(action(call), resource, context)
        for resource, context in (r if isinstance(r, tuple) else (r, {}) for r in requests)
    ]


@dataclass(frozen=True)
class _Arns:
    region: str
    account: str

    def __call__(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"


def _s3(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    bucket, key = call.params.get("Bucket"), call.params.get("Key")
    if not bucket:
        return "*"
    if call.operation == "DeleteObjects":
        return f"arn:aws:s3:::{bucket}/*"
    if key:
        return f"arn:aws:s3:::{bucket}/{key}"
    if call.operation in {"ListObjects", "ListObjectsV2", "ListObjectVersions"}:
        prefix = call.params.get("prefix")
        return (f"arn:aws:s3:::{bucket}", {} if prefix is None else {"s3:prefix": prefix})
    return f"arn:aws:s3:::{bucket}"


def _dynamodb(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    table = call.params.get("TableName") or ""
    if not table:
        resource = call.params.get("ResourceArn")
        return resource or "*"
    resource = table if table.startswith("arn:") else arn("dynamodb", f"table/{table}")
    name = resource.rsplit("/", 1)[-1]
    if call.params.get("IndexName"):  # a query of an index is authorized on the index
        resource += f"/index/{call.params['IndexName']}"
    leading = _leading_key(call, lookup.hash_keys.get(name))
    return (resource, {"dynamodb:LeadingKeys": [leading]} if leading is not None else {})


def _leading_key(call: Call, hash_key: str | None) -> str | None:
    if hash_key is None:
        return None
    item = call.params.get("Key") or call.params.get("Item")
    if isinstance(item, dict) and hash_key in item:
        return next(iter(item[hash_key].values()))
    expression = call.params.get("KeyConditionExpression")
    if expression:
        names = call.params.get("ExpressionAttributeNames") or {}
        values = call.params.get("ExpressionAttributeValues") or {}
        for name, value in re.findall(r"([#\w]+)\s*=\s*(:\w+)", expression):
            if names.get(name, name) == hash_key and value in values:
                return next(iter(values[value].values()))
    return None


def _function_arn(name: str, arn: _Arns, qualifier: str | None = None) -> str:
    if name.startswith("arn:"):
        return name
    if ":" in name:  # name:qualifier or account:function:name
        parts = name.split(":")
        name, qualifier = (parts[0], parts[1]) if len(parts) == 2 else (parts[2], None)
    return arn("lambda", f"function:{name}" + (f":{qualifier}" if qualifier else ""))


def _lambda(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    params = call.params
    if call.operation == "CreateEventSourceMapping":
        return ("*", {"lambda:FunctionArn": _function_arn(params["FunctionName"], arn)})
    uuid = params.get("UUID")
    if uuid:
        function = lookup.mappings.get(uuid)
        context = {"lambda:FunctionArn": function} if function else {}
        return (arn("lambda", f"event-source-mapping:{uuid}"), context)
    if params.get("LayerName"):
        version = params.get("VersionNumber")
        return arn("lambda", f"layer:{params['LayerName']}" + (f":{version}" if version else ""))
    if params.get("Resource"):
        return params["Resource"]
    if params.get("FunctionName"):
        return _function_arn(params["FunctionName"], arn, params.get("Qualifier"))
    return "*"


def _sqs(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    url = call.params.get("QueueUrl")
    if url:
        account, name = urlsplit(url).path.strip("/").split("/")[-2:]
        return f"arn:aws:sqs:{arn.region}:{account}:{name}"
    if call.params.get("QueueName"):
        return arn("sqs", call.params["QueueName"])
    return "*"


def _sns(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    params = call.params
    for key in ("TopicArn", "ResourceArn", "TargetArn"):
        if params.get(key):
            return params[key]
    if params.get("SubscriptionArn"):
        return params["SubscriptionArn"].rsplit(":", 1)[0]  # a subscription's topic
    if call.operation == "CreateTopic":
        return arn("sns", params["Name"])
    return "*"


def _events(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    if call.params.get("ResourceARN"):
        return call.params["ResourceARN"]
    rule = call.params.get("Rule") or call.params.get("Name")
    return arn("events", f"rule/{rule}") if rule else "*"


def _logs(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    params = call.params
    if params.get("resourceArn"):
        return params["resourceArn"].removesuffix(":*")
    group = params.get("logGroupName")
    if not group:
        return "*"
    if params.get("logStreamName"):
        return arn("logs", f"log-group:{group}:log-stream:{params['logStreamName']}")
    return arn("logs", f"log-group:{group}")


def _iam(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    params = call.params
    if params.get("RoleName"):
        return arn("iam", f"role/{params['RoleName']}", regional=False)
    if params.get("PolicyArn"):
        return params["PolicyArn"]
    if params.get("UserName"):
        return arn("iam", f"user/{params['UserName']}", regional=False)
    return "*"


def _cloudwatch(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    params = call.params
    if params.get("ResourceARN"):
        return params["ResourceARN"]
    dashboards = params.get("DashboardNames") or (
        [params["DashboardName"]] if params.get("DashboardName") else []
    )
    if dashboards:  # dashboards are global: no region in their ARN
        return [arn("cloudwatch", f"dashboard/{name}", regional=False) for name in dashboards]
    names = params.get("AlarmNames") or ([params["AlarmName"]] if params.get("AlarmName") else [])
    if call.operation == "DescribeAlarms" or not names:
        return "*"
    return [arn("cloudwatch", f"alarm:{name}") for name in names]


def _secretsmanager(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    secret = call.params.get("SecretId") or call.params.get("Name")
    if not secret:
        return "*"
    if secret.startswith("arn:"):
        return secret
    found = lookup.secrets.get(secret)
    if found is None:
        raise Unplaced(f"secretsmanager:{call.operation} names {secret!r}, which never existed")
    return found


def _sts(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    return call.params.get("RoleArn") or "*"


def _budgets(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    if call.params.get("ResourceARN"):
        return call.params["ResourceARN"]
    name = call.params.get("BudgetName") or (call.params.get("Budget") or {}).get("BudgetName")
    return arn("budgets", f"budget/{name}", regional=False) if name else "*"


def _kms(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    """KMS authorizes a call naming an alias on the key behind it, with that key's aliases."""
    key = call.params.get("KeyId") or ""
    alias = key.split(":", 5)[-1] if ":alias/" in key else key
    if alias.startswith("alias/"):
        if alias not in lookup.aliases:
            raise Unplaced(f"kms:{call.operation} names {alias}, which no key has")
        key_arn, aliases = lookup.aliases[alias]
        return (key_arn, {"kms:ResourceAliases": aliases})
    if key.startswith("arn:"):
        return key
    return arn("kms", f"key/{key}") if key else "*"


def _anywhere(call: Call, arn: _Arns, lookup: Lookup) -> Any:
    return "*"  # X-Ray and the tagging API have no resource-level permissions


_PLACES = {
    "budgets": _budgets,
    "cloudwatch": _cloudwatch,
    "dynamodb": _dynamodb,
    "events": _events,
    "iam": _iam,
    "kms": _kms,
    "lambda": _lambda,
    "logs": _logs,
    "resourcegroupstaggingapi": _anywhere,
    "s3": _s3,
    "secretsmanager": _secretsmanager,
    "sns": _sns,
    "sqs": _sqs,
    "sts": _sts,
    "xray": _anywhere,
}

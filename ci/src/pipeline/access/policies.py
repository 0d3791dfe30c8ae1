"""The policies Terraform applied, read back from the emulator by its administrator: each role's
inline and attached policies and trust policy, and the resource policies of buckets, queues,
topics and secrets. Nothing here is read from the Terraform source, so a policy that differs
from what the code says is judged as it really is."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from pipeline.access.actions import Lookup
from pipeline.adapters import sessions
from pipeline.adapters.target import EMULATED_KEYS, SERVICE_CREDENTIALS, Target

ADMINISTRATOR = "the emulated account administrator"
SERVICE = "the AWS service (emulated runtime)"
WEB_IDENTITY = "GitHub's OIDC token (unsigned)"


@dataclass(frozen=True)
class Role:
    arn: str
    policies: tuple[tuple[str, dict[str, Any]], ...]  # (name, document), inline and attached
    trust: dict[str, Any]


@dataclass
class Applied:
    """Everything the evaluation needs, keyed the way calls name things."""

    lookup: Lookup
    roles: dict[str, Role] = field(default_factory=dict)  # by ARN
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (session, role)
    resource_policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def principal(self, access_key: str) -> tuple[str, Role | None]:
        """Who signed with this key, and the role whose policies apply (None: not evaluated)."""
        if access_key == EMULATED_KEYS["aws_access_key_id"]:
            return ADMINISTRATOR, None
        if access_key == SERVICE_CREDENTIALS.access_key_id:
            return SERVICE, None
        if not access_key:
            return WEB_IDENTITY, None
        session, role = self.keys.get(access_key, (f"unknown access key {access_key}", ""))
        return session, self.roles.get(role)


def read(admin: Target, state: Path) -> Applied:
    """What is applied in the emulator, and the role sessions handed out (from `state`)."""
    assert admin.endpoint and admin.credentials is None
    iam = admin.client("iam")
    account = admin.client("sts").get_caller_identity()["Account"]
    applied = Applied(Lookup(account))
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            applied.roles[role["Arn"]] = read_role(iam, role)
    applied.keys = sessions.load(state)
    _resources(admin, applied)
    return applied


def read_role(iam: Any, role: dict[str, Any]) -> Role:
    """A role's applied policies, read with the calls a deployer may make on its own role."""
    name = role["RoleName"]
    policies = []
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        inline = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        policies.append((policy_name, document(inline)))
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        managed = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        policies.append((attached["PolicyName"], document(managed["Document"])))
    return Role(role["Arn"], tuple(policies), document(role["AssumeRolePolicyDocument"]))


def document(value: Any) -> dict[str, Any]:
    """IAM returns policy documents URL-encoded, or already decoded, depending on the client."""
    if isinstance(value, dict):
        return value
    return json.loads(unquote(value))


def _resources(admin: Target, applied: Applied) -> None:
    lookup, policies = applied.lookup, applied.resource_policies
    s3 = admin.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        policy = _optional(lambda n=name: s3.get_bucket_policy(Bucket=n)["Policy"])
        if policy:
            policies[f"arn:aws:s3:::{name}"] = json.loads(policy)
    sqs = admin.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if attributes.get("Policy"):
            policies[attributes["QueueArn"]] = json.loads(attributes["Policy"])
    sns = admin.client("sns")
    for topic in sns.list_topics().get("Topics", []):
        attributes = sns.get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]
        if attributes.get("Policy"):
            policies[topic["TopicArn"]] = json.loads(attributes["Policy"])
    sm = admin.client("secretsmanager")
    for page in sm.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            lookup.secrets[secret["Name"]] = secret["ARN"]
            policy = _optional(lambda a=secret["ARN"]: sm.get_resource_policy(SecretId=a))
            if policy and policy.get("ResourcePolicy"):
                policies[secret["ARN"]] = json.loads(policy["ResourcePolicy"])
    dynamodb = admin.client("dynamodb")
    for page in dynamodb.get_paginator("list_tables").paginate():
        for table in page["TableNames"]:
            schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
            lookup.hash_keys[table] = next(
                k["AttributeName"] for k in schema if k["KeyType"] == "HASH"
            )
    kms = admin.client("kms")
    by_key: dict[str, list[str]] = {}
    for page in kms.get_paginator("list_aliases").paginate():
        for alias in page["Aliases"]:
            if alias.get("TargetKeyId"):
                by_key.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    for key_id, names in by_key.items():
        key_arn = f"arn:aws:kms:{admin.region}:{lookup.account}:key/{key_id}"
        for name in names:
            lookup.aliases[name] = (key_arn, sorted(names))
        # KMS authorizes a call only if the key policy allows it (or leaves it to IAM).
        key_policy = _optional(
            lambda k=key_id: kms.get_key_policy(KeyId=k, PolicyName="default")["Policy"]
        )
        if key_policy:  # moto lists AWS managed aliases before their keys exist
            policies[key_arn] = json.loads(key_policy)
    lam = admin.client("lambda")
    for page in lam.get_paginator("list_event_source_mappings").paginate():
        for mapping in page["EventSourceMappings"]:
            lookup.mappings[mapping["UUID"]] = mapping["FunctionArn"]


def _optional(read_policy: Any) -> Any:
    try:
        return read_policy()
    except ClientError:
        return None  # no policy on this resource

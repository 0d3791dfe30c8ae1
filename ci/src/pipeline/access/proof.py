"""Evaluate recorded calls as the principals that made them, with @cloud-copilot/iam-simulate,
a maintained IAM policy simulator: explicit denies, resource policies, identity policies and
condition operators as AWS documents them, and it refuses actions, resource types and condition
keys that IAM does not have. The report is what goes into run records and the README."""

import json
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.access import recording
from pipeline.access.actions import Request, Unplaced, requests_for
from pipeline.access.policies import Applied, Role
from pipeline.adapters import tools
from pipeline.errors import UsageError

SIMULATOR = "@cloud-copilot/iam-simulate"
SCRIPT = Path(__file__).with_name("simulate.mjs")
OIDC_PROVIDER = "token.actions.githubusercontent.com"
# AWS sets these on every signed call; the emulator is plain HTTP, AWS is always TLS.
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


@dataclass(frozen=True)
class Denial:
    principal: str
    action: str
    resource: str
    reason: str
    operation: str

    def describe(self) -> str:
        return f"{self.principal} may not {self.action} on {self.resource} ({self.reason})"


@dataclass
class Report:
    calls: int = 0
    by_principal: Counter[str] = field(default_factory=Counter)
    not_evaluated: Counter[str] = field(default_factory=Counter)
    denied: Counter[Denial] = field(default_factory=Counter)
    unplaced: Counter[str] = field(default_factory=Counter)
    trust: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.denied or self.unplaced or self.trust)

    def summary(self) -> str:
        evaluated = sum(self.by_principal.values())
        line = (
            f"{evaluated} calls by {len(self.by_principal)} principals, "
            f"{sum(self.denied.values())} denied"
        )
        if self.unplaced:
            line += f", {sum(self.unplaced.values())} not placeable"
        if self.trust:
            line += f", {len(self.trust)} trust policy findings"
        skipped = ", ".join(f"{n} by {who}" for who, n in sorted(self.not_evaluated.items()))
        return line + (f" (not evaluated: {skipped})" if skipped else "")

    def problems(self) -> list[str]:
        denials = sorted(self.denied.items(), key=lambda item: item[0].describe())
        return (
            [f"denied {n}x: {denial.describe()}" for denial, n in denials]
            + [f"{n}x: {text}" for text, n in sorted(self.unplaced.items())]
            + self.trust
        )

    def to_json(self) -> dict[str, Any]:
        denials = sorted(self.denied.items(), key=lambda item: item[0].describe())
        return {
            "summary": self.summary(),
            "calls": self.calls,
            "by_principal": dict(sorted(self.by_principal.items())),
            "not_evaluated": dict(sorted(self.not_evaluated.items())),
            "denied": [{**denial.__dict__, "count": n} for denial, n in denials],
            "unplaced": dict(sorted(self.unplaced.items())),
            "trust": self.trust,
        }


def evaluate(entries: list[dict[str, Any]], applied: Applied, tools_dir: Path) -> Report:
    """Every recorded call, as its signer: evaluated when the signer is a role of the account;
    counted apart when it is the administrator's bootstrap or the emulated AWS service."""
    report = Report(calls=len(entries))
    pending: dict[tuple[str, Request], list[tuple[Role, str]]] = {}
    for entry in entries:
        call = recording.parse(entry)
        who, role = applied.principal(call.access_key)
        if role is None and not who.startswith("unknown"):
            report.not_evaluated[who] += 1
            continue
        report.by_principal[who] += 1
        if role is None:
            report.unplaced[f"{call.service}:{call.operation} signed by {who}"] += 1
            continue
        try:
            found = requests_for(call, applied.lookup)
        except Unplaced as exc:
            report.unplaced[f"{who}: {exc}"] += 1
            continue
        for request in found:
            pending.setdefault((who, request), []).append((role, call.operation))
    keys = list(pending)
    simulations = [
        simulation(who, pending[(who, r)][0][0], r, applied.lookup.account,
                   _resource_policy(applied, r.resource))
        for who, r in keys
    ]  # fmt: skip
    verdicts = simulate(simulations, tools_dir)
    for (who, request), verdict in zip(keys, verdicts, strict=True):
        if verdict is None:
            continue
        for _, operation in pending[(who, request)]:
            denial = Denial(who, request.action, request.resource, verdict, operation)
            report.denied[denial] += 1
    return report


def simulation(
    who: str, role: Role, request: Request, account: str, resource_policy: dict[str, Any] | None
) -> dict[str, Any]:
    """The simulator's input for one request by a session of `role`."""
    return {
        "unsafe": False,
        "simulation": {
            "request": {
                "principal": who,
                "action": request.action,
                "resource": {"resource": request.resource, "accountId": account},
                "contextVariables": {**REQUEST_CONTEXT, **request.context},
            },
            "identityPolicies": [{"name": name, "policy": doc} for name, doc in role.policies],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
            **({"resourcePolicy": resource_policy} if resource_policy else {}),
        },
    }


def _resource_policy(applied: Applied, resource: str) -> dict[str, Any] | None:
    key = resource.split("/", 1)[0] if resource.startswith("arn:aws:s3:::") else resource
    return applied.resource_policies.get(key)


def simulate(simulations: list[dict[str, Any]], tools_dir: Path) -> list[str | None]:
    """One verdict per simulation: None when allowed, otherwise why not."""
    if not simulations:
        return []
    node = shutil.which("node")
    if not node:
        raise UsageError("node is not on PATH; install Node.js 18+ to run the access proof")
    package = tools.npm_package(SIMULATOR, tools_dir)
    done = subprocess.run(
        [node, str(SCRIPT), str(package)], input=json.dumps(simulations), capture_output=True,
        text=True, check=False, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise UsageError(f"{SIMULATOR} failed: {done.stderr.strip()[-500:]}")
    return [_reason(answer) for answer in json.loads(done.stdout)]


def _reason(answer: dict[str, Any]) -> str | None:
    if answer["result"] == "Allowed":
        return None
    if answer["result"] == "Error":
        return f"not a valid IAM request: {answer['error']}"
    explicit = [d for d in answer.get("denials", []) if d.get("denialType") == "Explicit"]
    if explicit:
        where = explicit[0]
        name = where.get("statementId") or f"statement {where.get('statementIndex')}"
        return f"explicitly denied by {where['policyType']} policy statement {name}"
    kinds = sorted({d.get("policyType", "identity") for d in answer.get("denials", [])})
    return f"no statement allows it ({', '.join(kinds) or 'identity'} policies)"


def trust_findings(
    applied: Applied, repository: str, environments: dict[str, list[str]], tools_dir: Path
) -> list[str]:
    """Each deployer's trust must admit GitHub's tokens for its own environments and nothing
    else. moto does not do web identity, so this checks the trust policy alone: its principal,
    and its conditions evaluated by the simulator against wanted and unwanted tokens."""
    findings, probes = [], []
    for env, names in sorted(environments.items()):
        arn = f"arn:aws:iam::{applied.lookup.account}:role/{env}-deployer"
        role = applied.roles.get(arn)
        if role is None:
            findings.append(f"{env}-deployer is not in the account")
            continue
        provider = f"arn:aws:iam::{applied.lookup.account}:oidc-provider/{OIDC_PROVIDER}"
        for statement in _statements(role.trust):
            federated = (statement.get("Principal") or {}).get("Federated")
            if statement.get("Effect") == "Allow" and federated != provider:
                findings.append(f"{env}-deployer's trust admits {statement.get('Principal')}")
        wanted = {f"repo:{repository}:environment:{name}" for name in names}
        subjects = sorted(wanted | {
            f"repo:{repository}:ref:refs/heads/any-branch",
            f"repo:{repository}:pull_request",
            f"repo:{repository}:environment:{env}-unreviewed",
            f"repo:someone-else/{repository.split('/')[-1]}:environment:{names[0]}",
        })  # fmt: skip
        for subject in subjects:
            probes.append((env, subject, subject in wanted, "sts.amazonaws.com", role))
        probes.append((env, sorted(wanted)[0], False, "another-audience", role))
    verdicts = simulate([_trust_probe(*probe[1:], applied) for probe in probes], tools_dir)
    for (env, subject, wanted, audience, _), verdict in zip(probes, verdicts, strict=True):
        if verdict is None and not wanted:
            findings.append(f"{env}-deployer's trust admits a token for {subject} ({audience})")
        elif verdict is not None and wanted:
            findings.append(f"{env}-deployer's trust refuses its own {subject}: {verdict}")
    return findings


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _trust_probe(subject: str, _wanted: bool, audience: str, role: Role, applied: Applied) -> dict:
    """The trust policy's statements as identity statements on the role (the principal was
    checked apart): the simulator then judges only their conditions."""
    statements = [
        {key: value for key, value in statement.items() if key != "Principal"}
        | {"Resource": role.arn}
        for statement in _statements(role.trust)
    ]
    return {
        "unsafe": True,  # the IAM reference does not list an OIDC provider's own keys
        "simulation": {
            "request": {
                "principal": f"arn:aws:iam::{applied.lookup.account}:oidc-provider/{OIDC_PROVIDER}",
                "action": "sts:AssumeRoleWithWebIdentity",
                "resource": {"resource": role.arn, "accountId": applied.lookup.account},
                "contextVariables": {
                    f"{OIDC_PROVIDER}:sub": subject,
                    f"{OIDC_PROVIDER}:aud": audience,
                },
            },
            "identityPolicies": [
                {"name": "trust", "policy": {"Version": "2012-10-17", "Statement": statements}}
            ],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        },
    }

"""The access proof, run: the promotions and rollback users run, on a fresh emulated account,
every call evaluated as its principal; then mutations of what Terraform applied that it must
catch, each named by principal, action and resource."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.access import policies, proof, recording
from pipeline.access.actions import Request
from pipeline.access.scenario import Proof
from pipeline.adapters import emulator
from pipeline.adapters.fake_newsapi import FakeNewsApi, load_scenarios
from pipeline.adapters.target import EMULATED_KEYS
from pipeline.runtime import schedules
from pipeline.runtime.functions import Runtime
from pipeline.state import project
from tests.conftest import ACCESS_SUMMARY, REPO
from tests.runner import Cli, clone

pytestmark = pytest.mark.iam
ACCOUNT = "123456789012"
TOOLS = project.state_dir(REPO) / "tools"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proof]:
    run = Proof(REPO, tmp_path_factory.mktemp("access") / "proof")
    run.prepare()
    try:
        try:
            for name, args in run.steps():
                run.run(name, args)
        finally:
            run.finish_recording()
        yield run
    finally:
        run.close()


@pytest.fixture(scope="module")
def report(scenario: Proof, tmp_path_factory: pytest.TempPathFactory) -> proof.Report:
    found = scenario.evaluate()
    (tmp_path_factory.getbasetemp() / ACCESS_SUMMARY).write_text(found.summary())
    return found


def _denials(report: proof.Report) -> set[tuple[str, str, str]]:
    return {(d.principal.split("/")[1], d.action, d.resource) for d in report.denied}


def test_every_call_of_promotion_rollback_and_verify_is_allowed(report: proof.Report) -> None:
    assert report.ok, "\n".join(report.problems())
    roles = {principal.split("/")[1] for principal in report.by_principal}
    # Each deployer for the pipeline and its suites; each function as its own role. Prod's
    # traffic shifts run the canary suite only, which invokes the canary and the dashboard.
    functions = {f"preprod-{fn}-role" for fn in ("ingestion", "analysis", "dashboard", "canary")}
    assert roles == {"preprod-deployer", "prod-deployer", "prod-canary-role",
                     "prod-dashboard-role"} | functions  # fmt: skip
    assert all(count > 0 for count in report.by_principal.values())
    assert sum(report.by_principal.values()) > 1000
    assert set(report.not_evaluated) <= {
        policies.ADMINISTRATOR, policies.SERVICE, policies.WEB_IDENTITY,
    }  # fmt: skip


def test_the_administrator_only_bootstraps(scenario: Proof) -> None:
    """The account's administrator signs only what an operator sets up once on AWS (the state
    bucket and lock table, the secrets, each deployer role by a targeted apply) and reads the
    NewsAPI key for the fake NewsAPI, which stands in for the internet. Everything a promotion
    does is signed by a deployer, a function or the AWS service."""
    admin = EMULATED_KEYS["aws_access_key_id"]
    calls = [c for c in map(recording.parse, scenario.entries) if c.access_key == admin]

    def bootstrap(call: recording.Call) -> bool:
        named = call.params.get("Bucket") or call.params.get("TableName") or ""
        return (
            (call.service == "s3" and named == "newsflow-tfstate")
            or (call.service == "dynamodb" and named == "newsflow-tflock")
            or (call.service == "iam" and call.params.get("RoleName", "").endswith("-deployer"))
            or call.service == "secretsmanager"
            or (call.service, call.operation) == ("sts", "GetCallerIdentity")
        )

    assert [c for c in calls if not bootstrap(c)] == []
    created = {c.params["RoleName"] for c in calls if c.operation == "CreateRole"}
    assert created == {"preprod-deployer", "prod-deployer"}


def test_a_function_running_on_another_function_s_role_is_denied(scenario: Proof) -> None:
    """Really run preprod's ingestion with analysis's role: its first call, reading the NewsAPI
    key, is made as analysis and must be denied."""
    admin = scenario.admin()
    lam, iam = admin.client("lambda"), admin.client("iam")
    analysis_role = iam.get_role(RoleName="preprod-analysis-role")["Role"]["Arn"]
    own_role = lam.get_function_configuration(FunctionName="preprod-ingestion")["Role"]
    lam.update_function_configuration(FunctionName="preprod-ingestion", Role=analysis_role)
    newsapi = FakeNewsApi(load_scenarios(REPO / "fixtures" / "newsapi"), "any-key").start()
    recording.start(str(admin.endpoint))
    try:
        with Runtime(admin, "preprod", scenario.state) as runtime:
            event = schedules.scheduled_event(
                "arn:aws:events:eu-west-1::rule/x", "eu-west-1", ACCOUNT
            )
            runtime.invoke("preprod-ingestion", event, "$LATEST")
    finally:
        entries = recording.stop(str(admin.endpoint))
        newsapi.stop()
        lam.update_function_configuration(FunctionName="preprod-ingestion", Role=own_role)
    report = proof.evaluate(entries, policies.read(admin, scenario.state), TOOLS)
    newsapi_secret = policies.read(admin, scenario.state).lookup.secrets["preprod-newsapi-key"]
    assert ("preprod-analysis-role", "secretsmanager:GetSecretValue", newsapi_secret) in _denials(
        report
    ), report.problems()


def test_ingestion_without_get_secret_value_is_denied(scenario: Proof) -> None:
    admin = scenario.admin()
    with _policy_without(admin, "preprod-ingestion-role", "secretsmanager:GetSecretValue"):
        applied = policies.read(admin, scenario.state)
    report = proof.evaluate(scenario.entries, applied, TOOLS)
    secret = applied.lookup.secrets["preprod-newsapi-key"]
    assert ("preprod-ingestion-role", "secretsmanager:GetSecretValue", secret) in _denials(report)
    assert not report.ok


def test_prod_deployer_without_its_read_of_preprod_is_denied(scenario: Proof) -> None:
    admin = scenario.admin()
    with _policy_without(admin, "prod-deployer", sids={"ReadPromotionSourceArtifacts",
                                                      "ReadPromotionSourceLedger"}):  # fmt: skip
        applied = policies.read(admin, scenario.state)
    denied = _denials(proof.evaluate(scenario.entries, applied, TOOLS))
    ledger = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/preprod-pipeline-ledger"
    assert ("prod-deployer", "dynamodb:Query", ledger) in denied
    assert ("prod-deployer", "dynamodb:GetItem", ledger) in denied
    bucket = f"arn:aws:s3:::preprod-newsflow-packages-{ACCOUNT}/"
    assert any(
        who == "prod-deployer" and action == "s3:GetObject" and resource.startswith(bucket)
        for who, action, resource in denied
    ), denied


def test_prod_deployer_may_not_write_preprod(scenario: Proof) -> None:
    """The read grant is read only: the applied policy refuses prod's deployer a write to
    preprod's ledger and bucket, and a read of anything else of preprod's."""
    applied = policies.read(scenario.admin(), scenario.state)
    role = applied.roles[f"arn:aws:iam::{ACCOUNT}:role/prod-deployer"]
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/prod-deployer/probe"
    tables = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table"
    ledger = f"{tables}/preprod-pipeline-ledger"
    packages = f"arn:aws:s3:::preprod-newsflow-packages-{ACCOUNT}"
    function = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:preprod-ingestion:live"
    probes = [
        Request("dynamodb:PutItem", ledger, {"dynamodb:LeadingKeys": ["validated"]}),
        Request("dynamodb:Query", ledger, {"dynamodb:LeadingKeys": ["lock"]}),
        Request("s3:PutObject", f"{packages}/x/y.zip"),
        Request("dynamodb:GetItem", f"{tables}/preprod-items"),
        Request("s3:GetObject", "arn:aws:s3:::newsflow-tfstate/preprod/terraform.tfstate"),
        Request("lambda:UpdateAlias", function),
    ]
    verdicts = proof.simulate(
        [proof.simulation(session, role, probe, ACCOUNT, None) for probe in probes], TOOLS
    )
    assert all(verdicts), list(zip(probes, verdicts, strict=True))


def test_an_oidc_trust_widened_to_any_branch_is_found(scenario: Proof) -> None:
    admin = scenario.admin()
    iam = admin.client("iam")
    original = iam.get_role(RoleName="preprod-deployer")["Role"]["AssumeRolePolicyDocument"]
    widened = json.loads(json.dumps(policies.document(original)))
    [statement] = widened["Statement"]
    subject = statement["Condition"]["StringEquals"].pop("token.actions.githubusercontent.com:sub")
    assert subject
    statement["Condition"]["StringLike"] = {
        "token.actions.githubusercontent.com:sub": "repo:newsflow/newsflow:*"
    }
    iam.update_assume_role_policy(RoleName="preprod-deployer", PolicyDocument=json.dumps(widened))
    try:
        findings = proof.trust_findings(
            policies.read(admin, scenario.state),
            "newsflow/newsflow",
            {"preprod": ["preprod"]},
            TOOLS,
        )
    finally:
        iam.update_assume_role_policy(
            RoleName="preprod-deployer", PolicyDocument=json.dumps(policies.document(original))
        )
    assert any("refs/heads/any-branch" in finding for finding in findings), findings
    assert (
        proof.trust_findings(
            policies.read(admin, scenario.state),
            "newsflow/newsflow",
            {"preprod": ["preprod"]},
            TOOLS,
        )
        == []
    )


class _policy_without:
    """The role's applied inline policy without some actions or statements, until exit."""

    def __init__(self, admin, role: str, action: str = "", sids: set[str] | None = None) -> None:
        self.iam, self.role, self.action, self.sids = (
            admin.client("iam"),
            role,
            action,
            sids or set(),
        )

    def __enter__(self) -> None:
        [self.name] = self.iam.list_role_policies(RoleName=self.role)["PolicyNames"]
        answer = self.iam.get_role_policy(RoleName=self.role, PolicyName=self.name)
        self.original = policies.document(answer["PolicyDocument"])
        statements = []
        for statement in self.original["Statement"]:
            if statement.get("Sid") in self.sids:
                continue
            actions = statement.get("Action")
            if self.action and actions:
                listed = [actions] if isinstance(actions, str) else actions
                kept = [a for a in listed if a != self.action]
                if not kept:
                    continue
                statement = {**statement, "Action": kept}
            statements.append(statement)
        assert statements != self.original["Statement"], "the mutation changed nothing"
        self._put({**self.original, "Statement": statements})

    def __exit__(self, *exc: object) -> None:
        self._put(self.original)

    def _put(self, document: dict) -> None:
        self.iam.put_role_policy(
            RoleName=self.role, PolicyName=self.name, PolicyDocument=json.dumps(document)
        )


def test_check_iam_names_the_command_that_broke_the_scenario(tmp_path: Path) -> None:
    """`./pipeline check-iam` on a working tree whose unit tests fail: the first promotion stops
    at its unit-test stage, the proof says which command failed, records a failed run and leaves
    no emulator running."""
    repo = clone(REPO, tmp_path / "repo")
    broken = (
        "import pytest\n\npytestmark = pytest.mark.unit\n\n\ndef test_broken():\n    assert False\n"
    )
    (repo / "tests" / "unit" / "test_broken.py").write_text(broken)
    state = tmp_path / "state"
    done = Cli(repo, state).run("check-iam", "--json", timeout=600)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "./pipeline promote --env preprod exited" in done.stderr
    record = json.loads(done.stdout)
    assert record["command"] == "check-iam" and record["result"] == "failed"
    assert [stage["name"] for stage in record["stages"]] == ["snapshot", "promote preprod"]
    assert emulator.load(state / "access-proof" / "state") is None
    shutil.rmtree(repo)


def test_check_iam_refuses_an_order_the_tfvars_do_not_define(tmp_path: Path) -> None:
    """A working tree that lost preprod's tfvars is refused before any promotion runs, with the
    setting and the fix named, and no emulator is left running."""
    repo = clone(REPO, tmp_path / "repo")
    (repo / "terraform" / "environments" / "preprod.tfvars").unlink()
    state = tmp_path / "state"
    done = Cli(repo, state).run("check-iam", "--json", timeout=600)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "names 'preprod', which has no terraform/environments/preprod.tfvars" in done.stderr
    record = json.loads(done.stdout)
    assert record["result"] == "failed" and record["exit_code"] == 2
    assert [stage["name"] for stage in record["stages"]] == ["snapshot"]
    assert emulator.load(state / "access-proof" / "state") is None
    shutil.rmtree(repo)

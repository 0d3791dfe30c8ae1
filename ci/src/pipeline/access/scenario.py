"""`./pipeline check-iam`: the promotions, rollback and key rotations users run, on a fresh
emulated account that records every call, then the proof over what it recorded.

The working tree is what is checked, committed or not: it is snapshotted into a clean commit of
its own, because prod only takes clean builds. Nothing of the user's own emulated
environments is touched; the proof has its own state directory and emulator."""

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.access import policies, proof, recording
from pipeline.adapters import emulator, target
from pipeline.errors import StageFailedError
from pipeline.promotion.recorded import Listener, Outcome, RecordedRun
from pipeline.state import project

APPROVAL = "access proof: a fresh emulated account"
STEP_TIMEOUT = 1800.0


@dataclass
class Proof:
    """One recorded scenario in `directory`; its emulator runs until `close()`."""

    repo: Path
    directory: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    sha: str = ""

    @property
    def state(self) -> Path:
        return self.directory / "state"

    @property
    def snapshot(self) -> Path:
        return self.directory / "repo"

    def admin(self) -> target.Target:
        running = emulator.load(self.state)
        if running is None:
            raise StageFailedError(f"the proof's emulator in {self.state} is not running")
        return target.Target("emulated", target.DEFAULT_REGION, running.endpoint)

    def prepare(self) -> None:
        """A new state directory and emulator, and a clean commit of the working tree."""
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        self.state.mkdir(parents=True)
        self.sha = snapshot(self.repo, self.snapshot)
        recording.start(emulator.ensure_running(self.state)[0].endpoint)

    def steps(self) -> list[tuple[str, list[str]]]:
        envs = project.promotion_order(self.snapshot).order
        found = []
        for env in envs:
            approval = [] if env == envs[0] else ["--approve", APPROVAL]
            found.append((f"promote {env}", ["promote", "--env", env, *approval]))
        found.append((f"rollback {envs[-1]}", ["rollback", "--env", envs[-1], "--to", self.sha]))
        found += [
            (f"rotate-secret {env}", ["rotate-secret", "--env", env, "dashboard"]) for env in envs
        ]
        return found

    def run(self, name: str, args: list[str]) -> None:
        """One `./pipeline` command, exactly as a user runs it, in the snapshot."""
        log = self.directory / "logs" / f"{name.replace(' ', '-')}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        environ = {
            **os.environ,
            "PIPELINE_STATE_DIR": str(self.state),
            "PIPELINE_ROOT": str(self.snapshot),
        }
        environ.pop(emulator.ENDPOINT_ENV, None)
        environ.pop("PIPELINE_TARGET", None)
        with log.open("w") as out:
            done = subprocess.run(
                [sys.executable, "-m", "pipeline", *args], cwd=self.snapshot, env=environ,
                stdout=out, stderr=subprocess.STDOUT, timeout=STEP_TIMEOUT, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            tail = log.read_text().strip().splitlines()[-3:]
            raise StageFailedError(
                f"./pipeline {' '.join(args)} exited {done.returncode}, so the scenario is "
                f"incomplete: {' / '.join(tail)} (full output: {log})"
            )

    def finish_recording(self) -> None:
        self.entries = recording.stop(self.admin().endpoint or "")

    def evaluate(self) -> proof.Report:
        tools_dir = project.state_dir(self.repo) / "tools"
        applied = policies.read(self.admin(), self.state)
        report = proof.evaluate(self.entries, applied, tools_dir)
        repository = (
            target.tfvar(
                self.snapshot, project.promotion_order(self.snapshot).last, "github_repository"
            )
            or ""
        )
        environments = github_environments(self.snapshot)
        report.trust = proof.trust_findings(applied, repository, environments, tools_dir)
        return report

    def close(self) -> None:
        running = emulator.load(self.state)
        if running:
            running.stop()


def github_environments(repo: Path) -> dict[str, list[str]]:
    """Each environment's GitHub environments (its deployer's trusted OIDC subjects)."""
    found = {}
    for env in project.environments(repo):
        text = (repo / "terraform" / "environments" / f"{env}.tfvars").read_text()
        listed = re.search(r"^\s*github_environments\s*=\s*\[([^\]]*)\]", text, re.MULTILINE)
        found[env] = re.findall(r'"([^"]+)"', listed[1]) if listed else []
    return found


def snapshot(repo: Path, destination: Path) -> str:
    """Clone `repo` and lay its working tree over the clone (tracked and untracked files that
    git does not ignore); returns the sha of the resulting clean commit."""
    git = ["git", "-c", "user.name=access proof", "-c", "user.email=proof@newsflow.invalid"]
    subprocess.run([*git, "clone", "--quiet", "--no-hardlinks", str(repo), str(destination)],
                   check=True, capture_output=True)  # fmt: skip
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "-co", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source, copy = repo / name, destination / name
        if source.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
        elif copy.exists():
            copy.unlink()  # deleted in the working tree
    changed = subprocess.run(["git", "-C", str(destination), "status", "--porcelain"],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    if changed:
        subprocess.run([*git, "-C", str(destination), "add", "-A"], check=True)
        subprocess.run([*git, "-C", str(destination), "commit", "-q", "-m",
                        "the working tree, as the access proof checks it"], check=True)  # fmt: skip
    return subprocess.run(["git", "-C", str(destination), "rev-parse", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip


def check(repo: Path, listener: Listener) -> Outcome:
    """Run the scenario and evaluate every call it made; the Outcome's message is the summary."""
    state = project.state_dir(repo)
    run = RecordedRun(state, "check-iam", {}, listener, env="-", target="emulated")
    scenario = Proof(repo, state / "access-proof")
    try:
        with run.stages(""):
            with run.runner.stage("snapshot") as log:
                scenario.prepare()
                run.sha = scenario.sha
                log.detail = f"{scenario.sha[:12]} on a fresh emulator, recording"
            try:
                for name, args in scenario.steps():
                    with run.runner.stage(name) as log:
                        scenario.run(name, args)
            finally:
                scenario.finish_recording()
            with run.runner.stage("evaluate") as log:
                report = scenario.evaluate()
                run.record.data["access"] = report.to_json()
                (scenario.directory / "report.json").write_text(
                    json.dumps(report.to_json(), indent=2)
                )
                log.detail = report.summary()
                problems = report.problems()
                for problem in problems:
                    log.write(problem)
                if not report.ok:
                    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
                    raise StageFailedError(f"{report.summary()}: " + "; ".join(problems[:5]) + more)
                run.message = report.summary()
    finally:
        scenario.close()
    return run.finish()

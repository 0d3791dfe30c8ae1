"""The promotion algorithm, written once: it orders the stages, records every result and decides
the outcome. Where a stage executes (this process, or a Dagger container) is not its concern."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import project, source, unit_tests
from pipeline.errors import PipelineError
from pipeline.runrecord import RunRecord
from pipeline.stages import Listener, StageRunner


@dataclass
class Outcome:
    env: str
    target: str
    sha: str
    exit_code: int
    message: str
    record_path: Path
    stages: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def result(self) -> str:
        return {0: "ok", 3: "refused"}.get(self.exit_code, "failed")

    def summary_row(self) -> dict[str, Any]:
        versions = ", ".join(f"{k}:{v}" for k, v in sorted(self.versions.items())) or "-"
        return {
            "env": self.env,
            "target": self.target,
            "sha": self.sha[:12],
            "versions": versions,
            "result": self.result,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "target": self.target,
            "sha": self.sha,
            "result": self.result,
            "exit_code": self.exit_code,
            "message": self.message,
            "versions": self.versions,
            "stages": self.stages,
            "run_record": str(self.record_path),
        }


def promote(repo: Path, env: str, listener: Listener) -> Outcome:
    src = source.read(repo)
    target = "emulated"
    record = RunRecord.create(
        project.state_dir(repo),
        "promote",
        {"env": env, "target": target, "sha": src.sha, "dirty": src.dirty, "author": src.author},
    )
    runner = StageRunner(listener=listener, on_result=record.add_stage)
    exit_code, message = 0, f"{src.short} promoted to {env} ({target})"
    try:
        with runner.stage("unit-test") as log:
            unit_tests.run(repo, log)
    except PipelineError as exc:
        exit_code, message = exc.exit_code, str(exc)
    record.finish("ok" if exit_code == 0 else "failed", exit_code, message=message)
    return Outcome(
        env,
        target,
        src.sha,
        exit_code,
        message,
        record.path,
        [r.to_json() for r in runner.results],
    )

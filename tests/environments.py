"""Deploying emulated environments for tests with the pipeline's own stages (one code path)."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.adapters import aws_errors
from pipeline.adapters.emulator import Emulator
from pipeline.adapters.target import DEFAULT_REGION, Target
from pipeline.promotion import first
from pipeline.promotion.recorded import StageRunner
from pipeline.state import source
from pipeline.state.ledger import Ledger
from pipeline.state.run_record import RunRecord


def emulated(server: Emulator) -> Target:
    return Target("emulated", DEFAULT_REGION, server.endpoint)


def _promotion(repo: Path, state: Path, env: str, tgt: Target) -> first.Promotion:
    src = source.read(repo)
    record = RunRecord.create(state, "test-deploy", {"env": env})
    runner = StageRunner(on_result=record.add_stage, translate=aws_errors.translate)
    return first.Promotion(repo, state, env, src, tgt, record, runner)


def deploy(repo: Path, state: Path, env: str, tgt: Target) -> first.Promotion:
    """package → upload → plan → apply → deploy, as `promote` runs them (unit tests aside)."""
    run = _promotion(repo, state, env, tgt)
    run.package()
    run.upload()
    run.plan()
    run.apply()
    run.deploy()
    return run


def deploy_all(repo: Path, state: Path, envs: list[str], tgt: Target) -> dict[str, first.Promotion]:
    """Both environments at once: each apply mostly waits on the emulator."""
    with ThreadPoolExecutor(max_workers=len(envs)) as pool:
        futures = {env: pool.submit(deploy, repo, state / env, env, tgt) for env in envs}
        return {env: future.result() for env, future in futures.items()}


def validated_upstream(repo: Path, state: Path, env: str, tgt: Target) -> None:
    """What a passing `promote --env <env>` leaves for the environment after it — the zips in
    the package bucket, the ledger's artifact and `validated` entries — written by the same
    stages, without that run's apply and verify."""
    run = _promotion(repo, state, env, tgt)
    run.package()
    run.upload()
    Ledger(tgt, env).mark_validated(run.src.sha, run.digests(), run.record.data["id"])

"""Deploying emulated environments for tests with the pipeline's own stages (one code path)."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline import awserrors, promotion, source
from pipeline.emulator import Emulator
from pipeline.ledger import Ledger
from pipeline.runrecord import RunRecord
from pipeline.stages import StageRunner
from pipeline.target import DEFAULT_REGION, Target


def emulated(server: Emulator) -> Target:
    return Target("emulated", DEFAULT_REGION, server.endpoint)


def _promotion(repo: Path, state: Path, env: str, tgt: Target) -> promotion.Promotion:
    src = source.read(repo)
    record = RunRecord.create(state, "test-deploy", {"env": env})
    runner = StageRunner(on_result=record.add_stage, translate=awserrors.translate)
    return promotion.Promotion(repo, state, env, src, tgt, record, runner)


def deploy(repo: Path, state: Path, env: str, tgt: Target) -> promotion.Promotion:
    """package → upload → apply → deploy, exactly as `promote` runs them (unit tests aside)."""
    run = _promotion(repo, state, env, tgt)
    run.package()
    run.upload()
    run.apply()
    run.deploy()
    return run


def deploy_all(
    repo: Path, state: Path, envs: list[str], tgt: Target
) -> dict[str, promotion.Promotion]:
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

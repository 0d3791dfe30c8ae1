"""`promote --artifacts DIR`: an artifact built elsewhere (the Dagger module's package container)
is promoted only when it is this commit's, byte for byte."""

import json
import subprocess
from pathlib import Path

import pytest

from pipeline.errors import RefusedError, UsageError
from pipeline.stages import packaging
from pipeline.state import source
from tests.runner import Cli

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def built(repo_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifact")
    packaging.build(repo_clone, tmp_path_factory.mktemp("state"), source.read(repo_clone), out)
    return out


@pytest.fixture
def artifact(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "artifact"
    subprocess.run(["cp", "-a", str(built), str(copy)], check=True)
    return copy


def load(directory: Path, repo: Path) -> list[packaging.Package]:
    return packaging.load(directory, repo, source.read(repo))[0]


def edit_manifest(directory: Path, change: dict) -> None:
    path = directory / "manifest.json"
    data = json.loads(path.read_text())
    for function, fields in change.get("functions", {}).items():
        data["functions"][function].update(fields)
    data.update({k: v for k, v in change.items() if k != "functions"})
    path.write_text(json.dumps(data))


def test_the_commit_s_own_artifact_is_accepted(artifact: Path, repo_clone: Path) -> None:
    manifest = json.loads((artifact / "manifest.json").read_text())
    packages = load(artifact, repo_clone)
    assert {p.function: p.sha256 for p in packages} == {
        fn: entry["sha256"] for fn, entry in manifest["functions"].items()
    }


def test_one_changed_byte_is_refused(artifact: Path, repo_clone: Path) -> None:
    zipped = artifact / "dashboard.zip"
    body = bytearray(zipped.read_bytes())
    body[len(body) // 2] ^= 1
    zipped.write_bytes(bytes(body))
    with pytest.raises(RefusedError, match=r"dashboard\.zip has sha256 .* the manifest says"):
        load(artifact, repo_clone)


def test_another_commit_s_artifact_is_refused(artifact: Path, repo_clone: Path) -> None:
    edit_manifest(artifact, {"sha": "0" * 40})
    with pytest.raises(RefusedError, match="was built from 0000000000"):
        load(artifact, repo_clone)


def test_an_artifact_of_other_sources_is_refused(artifact: Path, repo_clone: Path) -> None:
    edit_manifest(artifact, {"functions": {"canary": {"source_hash": "f" * 64}}})
    with pytest.raises(RefusedError, match=r"canary\.zip was built from other sources"):
        load(artifact, repo_clone)


def test_a_missing_zip_or_manifest_is_named(artifact: Path, repo_clone: Path) -> None:
    (artifact / "ingestion.zip").unlink()
    with pytest.raises(RefusedError, match=r"ingestion\.zip is missing"):
        load(artifact, repo_clone)
    (artifact / "manifest.json").unlink()
    with pytest.raises(UsageError, match=r"no readable manifest\.json"):
        load(artifact, repo_clone)


def test_a_following_environment_refuses_supplied_artifacts_and_still_exports(
    cli: Cli, artifact: Path, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    done = cli.run("promote", "--env", "prod", "--artifacts", str(artifact), "--export", str(out))
    assert done.returncode == 2 and "--artifacts is for the environment that builds" in done.stderr
    assert "Traceback" not in done.stderr
    outcome = json.loads((out / "outcome.json").read_text())
    assert outcome["exit_code"] == 2 and outcome["result"] == "failed"
    assert "takes only the bytes preprod validated" in (out / "summary.md").read_text()

"""`./pipeline audit` against an advisory database on 127.0.0.1 that answers in OSV's format:
which versions it is asked about, how an answer becomes a finding and an exit code, and that an
unreachable or broken database is a skip, never a clean result."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.stages import dependency_audit
from tests.advisories import ADVISORY, osv
from tests.conftest import REPO
from tests.http_server import serving
from tests.runner import Cli, clone, commit

pytestmark = pytest.mark.pipeline


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    def run(url: str, repo: Path = REPO) -> tuple[int, dict, str]:
        cli = Cli(repo, tmp_path / "state", {"PIPELINE_ADVISORY_URL": url})
        done = cli.run("audit", "--json")
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr

    yield run


def test_every_locked_version_is_asked_about_once(audit: Callable) -> None:
    asked: list = []
    with serving(osv(lambda name, version: False, asked)) as url:
        code, report, stderr = audit(url)
    assert code == 0 and report["status"] == "clean"
    assert "no known vulnerabilities in" in stderr
    expected = {p for path in dependency_audit.lock_files(REPO)
                for p in dependency_audit.pinned(path, REPO)}  # fmt: skip
    pairs = [(q["package"]["name"], q["version"]) for q in asked]
    assert sorted(pairs) == sorted(expected) and len(pairs) == report["packages"]
    assert {q["package"]["ecosystem"] for q in asked} == {"PyPI"}
    # The pipeline's own locks and every function's requirements, which is what its zip holds.
    assert report["lock_files"][:2] == ["uv.lock", "ci/uv.lock"]
    assert ("requests", "2.32.5") in pairs and ("boto3", dict(expected)["boto3"]) in pairs


def test_an_advisory_fails_the_audit_and_names_the_fix(audit: Callable) -> None:
    asked: list = []
    hit = lambda name, version: (name, version) == ("requests", "2.32.5")  # noqa: E731
    with serving(osv(hit, asked)) as url:
        code, report, stderr = audit(url)
    assert code == 1 and report["status"] == "vulnerable"
    [finding] = report["findings"]
    assert finding == {
        "package": "requests", "version": "2.32.5", "id": "GHSA-9wx4-h78v-vm56",
        "summary": ADVISORY["summary"], "fixed": "2.32.0",
        "lock_file": "uv.lock, lambdas/ingestion/requirements.txt",
    }  # fmt: skip
    assert "requests 2.32.5: GHSA-9wx4-h78v-vm56" in stderr and "upgrade to 2.32.0" in stderr


@pytest.mark.parametrize(
    "answer",
    [
        None,  # nothing listens
        lambda handler: (500, b"<html>overloaded</html>"),
        lambda handler: (200, b'{"results": []}'),  # fewer results than queries
        lambda handler: (200, b"not json"),
    ],
    ids=["unreachable", "server error", "short answer", "not json"],
)
def test_no_usable_answer_is_a_skip_never_a_pass(audit: Callable, answer: Any) -> None:
    if answer is None:
        with serving(lambda handler: (200, b"")) as url:
            pass  # the port is closed again once the block ends
        code, report, stderr = audit(url)
    else:
        with serving(answer) as url:
            code, report, stderr = audit(url)
    assert code == 0 and report["status"] == "skipped" and report["findings"] == []
    assert "skipped: no advisory database reachable" in stderr
    assert "unchecked" in stderr and "no known vulnerabilities" not in stderr


def test_a_corrupt_lock_file_is_named_with_its_fix(audit: Callable, tmp_path: Path) -> None:
    work = clone(REPO, tmp_path / "repo")
    commit(work, "ci/uv.lock", "[[package]\nname = ")
    code, report, stderr = audit("http://127.0.0.1:9", work)
    assert code == 2 and report == {}
    assert "the lock file ci/uv.lock is not valid TOML" in stderr and "uv lock" in stderr

"""Reproducible packages: the same source gives the same bytes in another clone, directory,
umask and mtime; a corrupted cache entry is detected by digest and rebuilt."""

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from pipeline.stages import packaging
from tests.conftest import REPO
from tests.runner import clone

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheel download shared by the module (wheels are verified by hash anyway)."""
    directory = tmp_path_factory.mktemp("wheels")
    for function in packaging.functions(REPO):
        packaging.fetch_wheels(REPO / "lambdas" / function / "requirements.txt", directory)
    return directory


def _build_all(repo: Path, cache: Path, wheels: Path) -> dict[str, bytes]:
    shutil.copytree(wheels, cache / "wheels", dirs_exist_ok=True)
    return {p.function: p.path.read_bytes() for p, _ in packaging.package_all(repo, cache)}


def test_two_clones_give_identical_bytes(tmp_path: Path, wheels: Path) -> None:
    first = clone(REPO, tmp_path / "a")
    old = os.umask(0o077)
    try:
        second = clone(REPO, tmp_path / "deeper" / "b")
    finally:
        os.umask(old)
    for path in (second / "lambdas").rglob("*.py"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    built_a = _build_all(first, tmp_path / "cache-a", wheels)
    built_b = _build_all(second, tmp_path / "cache-b", wheels)
    assert built_a.keys() == {"analysis", "canary", "dashboard", "ingestion"}
    assert {fn: hashlib.sha256(b).hexdigest() for fn, b in built_a.items()} == {
        fn: hashlib.sha256(b).hexdigest() for fn, b in built_b.items()
    }


def test_zip_layout_is_normalised(tmp_path: Path, wheels: Path) -> None:
    data = _build_all(REPO, tmp_path / "cache", wheels)["analysis"]
    path = tmp_path / "analysis.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {packaging.FIXED_TIME}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert not [
        n for n in names if n.endswith(".pyc") or "__pycache__" in n or n.startswith("bin/")
    ]
    assert "news_analysis/handler.py" in names
    assert "news_common/items.py" in names
    assert "vaderSentiment/vader_lexicon.txt" in names
    assert not [n for n in names if n.startswith(("tests/", "requirements"))]


def test_corrupted_cache_entry_is_rebuilt(tmp_path: Path, wheels: Path) -> None:
    cache = tmp_path / "cache"
    original = _build_all(REPO, cache, wheels)["canary"]
    [entry] = (cache / "zips").glob("canary-*.zip")
    entry.write_bytes(entry.read_bytes()[:-10] + b"corrupted!")
    package, cached = packaging.package_function(REPO, cache, "canary")
    assert cached is False
    assert package.path.read_bytes() == original


def test_unchanged_source_is_served_from_cache(tmp_path: Path, wheels: Path) -> None:
    cache = tmp_path / "cache"
    _build_all(REPO, cache, wheels)
    assert all(cached for _, cached in packaging.package_all(REPO, cache))

"""Reproducible packages: the same source gives the same bytes in another clone, directory,
umask and mtime; a corrupted cache entry is detected by digest and rebuilt."""

import hashlib
import os
import re
import shutil
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline.errors import StageFailedError
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


STAND_IN_PIP = '''
"""Stands in for `pip download` as far as the download directory sees it: each wheel is
copied in place under its final name, like pip's own copy, pausing half-way through the
first until the test says go; STAND_IN_FAIL makes it fail the way pip does."""
import os
import sys
import time
from pathlib import Path

if os.environ.get("STAND_IN_FAIL"):
    sys.exit("ERROR: No matching distribution found for idna==3.20")
target = Path(sys.argv[sys.argv.index("-d") + 1])
signals = Path(os.environ["STAND_IN_SIGNALS"])
for n, wheel in enumerate(sorted(Path(os.environ["STAND_IN_WHEELS"]).glob("*.whl"))):
    data = wheel.read_bytes()
    with open(target / wheel.name, "wb") as out:
        out.write(data[: len(data) // 2])
        out.flush()
        if n == 0:
            (signals / "half").touch()
            while not (signals / "go").exists():
                time.sleep(0.01)
        out.write(data[len(data) // 2 :])
'''


@pytest.fixture
def stand_in_pip(tmp_path: Path, wheels: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Puts the stand-in first on the path `python -m pip` searches; returns its signal dir."""
    package = tmp_path / "stand-in" / "pip"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(STAND_IN_PIP)
    signals = tmp_path / "signals"
    signals.mkdir()
    path = [str(package.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))
    monkeypatch.setenv("STAND_IN_WHEELS", str(wheels))
    monkeypatch.setenv("STAND_IN_SIGNALS", str(signals))
    return signals


def test_a_download_in_progress_shows_no_half_wheel_to_other_packagers(
    tmp_path: Path, stand_in_pip: Path
) -> None:
    """Functions are packaged at once into one cache: a half-copied wheel under its final name
    was read, or deleted as a bad download by another pip, by a sibling (CI, issue 19)."""
    shared = tmp_path / "cache" / "wheels"
    requirements = REPO / "lambdas" / "analysis" / "requirements.txt"
    with ThreadPoolExecutor(max_workers=1) as pool:
        fetching = pool.submit(packaging.fetch_wheels, requirements, shared)
        try:
            while not (stand_in_pip / "half").exists():
                if fetching.done():
                    pytest.fail(f"the stand-in pip never paused: {fetching.exception()!r}")
                time.sleep(0.01)
            seen_mid_download = sorted(p.name for p in shared.glob("*.whl"))
        finally:
            (stand_in_pip / "go").touch()
        fetched = fetching.result()
    assert seen_mid_download == []
    assert {wheel.parent for wheel in fetched} == {shared}
    assert len(fetched) == len(packaging.pins(requirements))
    assert [p for p in shared.iterdir() if p.is_dir()] == []


def test_a_failed_download_names_pip_s_error_and_leaves_no_directory(
    tmp_path: Path, stand_in_pip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_FAIL", "1")
    shared = tmp_path / "cache" / "wheels"
    requirements = REPO / "lambdas" / "analysis" / "requirements.txt"
    pip_said = re.escape("No matching distribution found for idna==3.20")
    with pytest.raises(StageFailedError, match=pip_said):
        packaging.fetch_wheels(requirements, shared)
    assert list(shared.iterdir()) == []

"""Reproducible Lambda packages: the same source gives byte-identical zips anywhere.

Each zip holds the function's package, `lambdas/common`, and its pinned pure-Python wheels
unpacked without bytecode. Entries are sorted, timestamps fixed at 1980-01-01, permissions
normalised and the compression level fixed. Zips are cached by a hash of their inputs; a cached
zip is trusted only if its bytes still match the digest recorded beside it.
"""

import base64
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.concurrency import map_threads
from pipeline.errors import RefusedError, StageFailedError, UsageError
from pipeline.state.content_hash import SKIPPED_PARTS, SKIPPED_SUFFIXES, source_files, tree_hash
from pipeline.state.source import Source

FORMAT = "newsflow.zip/1"  # bump to invalidate every cached zip when the layout changes
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
COMPRESSION_LEVEL = 6
COMMON = "common"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class Package:
    function: str
    path: Path
    sha256: str
    size: int
    source_hash: str

    @property
    def code_sha256(self) -> str:
        """The digest as Lambda reports it in CodeSha256: base64 of the raw sha256."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


def functions(repo: Path) -> list[str]:
    return sorted(
        p.parent.name
        for p in (repo / "lambdas").glob("*/requirements.txt")
        if p.parent.name != COMMON
    )


def source_hash(repo: Path, function: str) -> str:
    return tree_hash(repo, [f"lambdas/{COMMON}", f"lambdas/{function}"], seed=FORMAT)


def pins(requirements: Path) -> list[tuple[str, str, set[str]]]:
    """(name, version, allowed sha256s) for each pinned requirement."""
    text = requirements.read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            found.append((match[1], match[2], set(HASH.findall(line))))
    return found


def _wheel_for(wheels: Path, name: str, version: str, hashes: set[str]) -> Path | None:
    stem = re.sub(r"[-_.]+", "_", name).lower()
    for wheel in wheels.glob("*.whl"):
        named = wheel.name.lower().startswith(f"{stem}-{version}-".lower())
        if named and hashlib.sha256(wheel.read_bytes()).hexdigest() in hashes:
            return wheel
    return None


def fetch_wheels(requirements: Path, wheels: Path) -> list[Path]:
    """Pure-Python wheels for the pins, verified by hash; downloads only what is missing.

    pip writes into its download directory in place and deletes a file there whose hash it
    does not expect, which is what another download's half-copied wheel looks like. So pip
    downloads into a directory of its own, and each wheel is renamed into the shared one:
    functions packaged at once, and pipelines sharing a cache, see a whole wheel or none."""
    wanted = pins(requirements)
    found = [_wheel_for(wheels, *pin) for pin in wanted]
    if wanted and None in found:
        wheels.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=wheels, prefix=".download-") as private:
            command = [
                sys.executable, "-m", "pip", "download", "--isolated", "--quiet", "--no-deps",
                "--only-binary=:all:", "--platform", "any", "--implementation", "py",
                "--python-version", "3.12", "--require-hashes", "-r", str(requirements),
                "-d", private,
            ]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "pip failed"
                raise StageFailedError(
                    f"cannot download the wheels pinned in {requirements}: {last}; check access"
                    " to the package index, or that every pin has a pure-Python wheel"
                )
            for wheel in Path(private).glob("*.whl"):
                os.replace(wheel, wheels / wheel.name)
        found = [_wheel_for(wheels, *pin) for pin in wanted]
    missing = [pin[0] for pin, wheel in zip(wanted, found, strict=True) if wheel is None]
    if missing:
        raise StageFailedError(f"no wheel matching the pinned hash for {', '.join(missing)}")
    return [wheel for wheel in found if wheel is not None]


def _wheel_entries(wheel: Path) -> Iterable[tuple[str, bytes]]:
    """A wheel's importable files, as an installer would lay them out; no scripts or data."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            parts = PurePosixPath(member).parts
            if member.endswith("/") or SKIPPED_PARTS.intersection(parts):
                continue
            if PurePosixPath(member).suffix in SKIPPED_SUFFIXES:
                continue
            target = member
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in {"purelib", "platlib"}:
                    continue
                target = "/".join(parts[2:])
            yield target, archive.read(member)


def build_zip(repo: Path, function: str, wheels: list[Path]) -> bytes:
    entries: dict[str, bytes] = {}
    for wheel in wheels:
        entries.update(_wheel_entries(wheel))
    for root in (repo / "lambdas" / COMMON, repo / "lambdas" / function):
        for path in source_files(root):
            relative = path.relative_to(root).as_posix()
            if relative.startswith("requirements"):
                continue
            entries[relative] = path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name], compresslevel=COMPRESSION_LEVEL)
    return buffer.getvalue()


def _cached(cache: Path, function: str, digest_of_source: str) -> Package | None:
    zip_path = cache / f"{function}-{digest_of_source}.zip"
    meta_path = zip_path.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text())
        data = zip_path.read_bytes()
    except (OSError, ValueError):
        return None
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return None  # corrupted entry: rebuilt by the caller
    return Package(function, zip_path, meta["sha256"], len(data), digest_of_source)


def package_function(repo: Path, cache: Path, function: str) -> tuple[Package, bool]:
    """Build one function's zip, or reuse the cached one; returns it and whether it was cached."""
    digest_of_source = source_hash(repo, function)
    cached = _cached(cache / "zips", function, digest_of_source)
    if cached:
        return cached, True
    wheels = fetch_wheels(repo / "lambdas" / function / "requirements.txt", cache / "wheels")
    data = build_zip(repo, function, wheels)
    zip_path = cache / "zips" / f"{function}-{digest_of_source}.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    zip_path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    zip_path.with_suffix(".json").write_text(json.dumps({"sha256": sha, "function": function}))
    return Package(function, zip_path, sha, len(data), digest_of_source), False


def package_all(repo: Path, cache: Path) -> list[tuple[Package, bool]]:
    """Every function concurrently: the work is independent and mostly I/O and zlib."""
    return map_threads(package_function, [(repo, cache, name) for name in functions(repo)])


def manifest(source: Source, packages: list[Package]) -> dict[str, Any]:
    return {
        "schema": "newsflow.manifest/1",
        "sha": source.sha,
        "commit": source.commit,
        "dirty": source.dirty,
        "commit_time": source.commit_time,
        "author": source.author,
        "functions": {
            p.function: {
                "key": f"{source.sha}/{p.function}.zip",
                "sha256": p.sha256,
                "code_sha256": p.code_sha256,
                "size": p.size,
                "source_hash": p.source_hash,
            }
            for p in packages
        },
    }


def export(out: Path, source: Source, packages: list[Package]) -> dict[str, Any]:
    """Write the artifact directory: one zip per function plus manifest.json."""
    out.mkdir(parents=True, exist_ok=True)
    for package in packages:
        (out / f"{package.function}.zip").write_bytes(package.path.read_bytes())
    data = manifest(source, packages)
    (out / "manifest.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data


def build(
    repo: Path, state: Path, src: Source, out: Path
) -> tuple[list[Package], dict[str, Any], str]:
    """The package step: every function's zip (from the cache when its sources are unchanged),
    exported with the manifest to `out`; returns the packages, the manifest and a summary."""
    built = package_all(repo, state / "cache")
    packages = [package for package, _ in built]
    data = export(out, src, packages)
    reused = sum(cached for _, cached in built)
    total = sum(p.size for p in packages)
    return packages, data, f"{len(built)} zips, {total / 1e6:.2f} MB, {reused} from cache → {out}"


def load(directory: Path, repo: Path, src: Source) -> tuple[list[Package], dict[str, Any]]:
    """An artifact built elsewhere (`promote --artifacts DIR`), accepted only when it is this
    commit's: the manifest names this sha, every function is there, built from this source, and
    every zip has the digest and size the manifest gives."""
    try:
        data = json.loads((directory / "manifest.json").read_text())
        listed = data["functions"]
        sha = data["sha"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(
            f"{directory} has no readable manifest.json; pass the directory `./pipeline package "
            "--out DIR` wrote"
        ) from None
    if sha != src.sha:
        raise RefusedError(
            f"the artifact in {directory} was built from {sha}, not {src.sha}; package this "
            "commit (or check out the one it was built from)"
        )
    expected = functions(repo)
    if sorted(listed) != expected:
        raise RefusedError(
            f"the artifact in {directory} holds {', '.join(sorted(listed)) or 'nothing'}, this "
            f"commit has {', '.join(expected)}; package it again"
        )
    packages = []
    for function in expected:
        entry, path = listed[function], directory / f"{function}.zip"
        body = path.read_bytes() if path.is_file() else None
        problem = _mismatch(body, entry, source_hash(repo, function))
        if problem:
            raise RefusedError(
                f"{path} {problem}; the artifact does not match its manifest, so it is not "
                "promoted. Package it again"
            )
        assert body is not None
        packages.append(Package(function, path, entry["sha256"], len(body), entry["source_hash"]))
    return packages, data


def _mismatch(body: bytes | None, entry: dict[str, Any], expected_source: str) -> str | None:
    """Why one supplied zip is not what its manifest entry says, or None."""
    if body is None:
        return "is missing"
    digest = hashlib.sha256(body).hexdigest()
    if digest != entry.get("sha256"):
        return f"has sha256 {digest[:12]}, the manifest says {str(entry.get('sha256'))[:12]}"
    if entry.get("source_hash") != expected_source:
        return "was built from other sources than this commit's"
    return None

"""Content hashes of input trees, so unchanged work is skipped (as Dagger's cache would).

Packaging and the unit-test cache read the same notion of a source file from here."""

import hashlib
from collections.abc import Iterable
from pathlib import Path

SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".terraform", ".hypothesis"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def source_files(root: Path) -> list[Path]:
    """Files under root (or root itself), without caches and bytecode, in a stable order."""
    if root.is_file():
        return [root]
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and not SKIPPED_PARTS.intersection(path.relative_to(root).parts)
        and path.suffix not in SKIPPED_SUFFIXES
    )


def tree_hash(repo: Path, paths: Iterable[str], seed: str = "") -> str:
    digest = hashlib.sha256(seed.encode())
    for relative in sorted(paths):
        for path in source_files(repo / relative):
            digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()

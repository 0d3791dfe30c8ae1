"""Content hashes of input trees, so unchanged work is skipped (as Dagger's cache would)."""

import hashlib
from collections.abc import Iterable
from pathlib import Path

SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".terraform", ".hypothesis"}


def tree_hash(repo: Path, paths: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for relative in sorted(paths):
        root = repo / relative
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            rel = path.relative_to(repo)
            if SKIPPED_PARTS.intersection(rel.parts) or path.suffix == ".pyc":
                continue
            digest.update(rel.as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()

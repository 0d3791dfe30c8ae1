"""The engine's values that hold no process: directories, files, secrets and cache volumes.

A Directory or File is a snapshot on the host, never changed after it is made, so the same
object can be read by any number of later operations, as the engine's content-addressed values
can."""

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.utils.build import exclude_paths


class EngineError(Exception):
    """What the engine answers for a query it cannot complete (the SDK raises it as QueryError)."""

    def __init__(self, message: str, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.extensions = extensions or {}


class Unsupported(EngineError):
    """A field the executor does not implement: the test that reached it fails by name."""


def tree_digest(root: Path) -> str:
    """Content digest of a tree: relative paths, modes, link targets and bytes."""
    digest = hashlib.sha256()
    if root.is_file():
        digest.update(root.read_bytes())
        return digest.hexdigest()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        digest.update(relative.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"L" + os.readlink(path).encode())
        elif path.is_file():
            digest.update(b"F%o" % (path.stat().st_mode & 0o777))
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def copy_tree(source: Path, destination: Path, *, copy: bool = False) -> None:
    """A copy of a snapshot that shares its files by hard link (snapshots never change), or
    copies them (from a mounted view, which cannot be linked across)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True,
                    copy_function=shutil.copy2 if copy else os.link)  # fmt: skip


@dataclass
class Directory:
    TYPENAME = "Directory"
    path: Path  # a snapshot: never written after creation
    store: "Store"

    @property
    def digest(self) -> str:
        return self.store.digest_of(self.path)

    def gql_entries(self, path: str | None = None) -> list[str]:
        where = self._inside(path or ".")
        if not where.is_dir():
            raise EngineError(f"lstat {path}: no such file or directory")
        return sorted(p.name + ("/" if p.is_dir() else "") for p in where.iterdir())

    def gql_file(self, path: str) -> "File":
        where = self._inside(path)
        if not where.is_file():
            raise EngineError(f"lstat {path}: no such file or directory")
        return self.store.file_from(where)

    def gql_directory(self, path: str) -> "Directory":
        where = self._inside(path)
        if not where.is_dir():
            raise EngineError(f"lstat {path}: no such file or directory")
        return self.store.directory_from(where)

    def gql_withNewFile(self, path: str, contents: str, permissions: int | None = None) -> Any:
        new = self.store.new_dir()
        copy_tree(self.path, new)
        target = new / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.write_text(contents)
        target.chmod(permissions or 0o644)
        return Directory(new, self.store)

    def gql_sync(self) -> "Directory":
        return self  # a snapshot is already evaluated

    def gql_export(self, path: str, wipe: bool | None = None) -> str:
        destination = Path(path).resolve()
        if wipe and destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(self.path, destination, symlinks=True, dirs_exist_ok=True)
        return str(destination)

    def _inside(self, path: str) -> Path:
        resolved = (self.path / path.lstrip("/")).resolve()
        if resolved != self.path.resolve() and self.path.resolve() not in resolved.parents:
            raise EngineError(f"{path} is outside the directory")
        return resolved


@dataclass
class File:
    TYPENAME = "File"
    path: Path
    store: "Store"

    @property
    def digest(self) -> str:
        return self.store.digest_of(self.path)

    def gql_sync(self) -> "File":
        return self

    def gql_contents(self, offsetLines: int | None = None, limitLines: int | None = None) -> str:
        return self.path.read_text(errors="replace")

    def gql_name(self) -> str:
        return self.path.name

    def gql_size(self) -> int:
        return self.path.stat().st_size

    def gql_export(self, path: str, allowParentDirPath: bool | None = None) -> str:
        destination = Path(path).resolve()
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.path, destination)
        return str(destination)


@dataclass
class Secret:
    TYPENAME = "Secret"
    name: str
    plaintext: str = field(repr=False)

    def gql_plaintext(self) -> str:
        return self.plaintext

    @property
    def digest(self) -> str:
        # The engine keys a secret by its name and a hash of its value, never the value itself.
        return hashlib.sha256(f"{self.name}\0{self.plaintext}".encode()).hexdigest()


@dataclass
class CacheVolume:
    TYPENAME = "CacheVolume"
    key: str
    path: Path

    @property
    def digest(self) -> str:
        return f"cache:{self.key}"


@dataclass
class Store:
    """Where snapshots live, one directory per value, and their digests (computed once)."""

    root: Path
    _count: int = 0
    _digests: dict[Path, str] = field(default_factory=dict)

    def new_dir(self) -> Path:
        self._count += 1
        path = self.root / f"v{self._count}"
        path.mkdir(parents=True)
        return path

    def digest_of(self, path: Path) -> str:
        if path not in self._digests:
            self._digests[path] = tree_digest(path)
        return self._digests[path]

    def directory_from(self, source: Path, exclude: list[str] | None = None, *,
                       copy: bool = False) -> Directory:  # fmt: skip
        """A snapshot of a host directory, filtered as the engine filters an upload."""
        new = self.new_dir()
        if not exclude:
            copy_tree(source, new, copy=copy)
            return Directory(new, self)
        kept = exclude_paths(str(source), list(exclude), dockerfile=".no-dockerfile")
        for relative in sorted(kept):
            origin, target = source / relative, new / relative
            if origin.is_dir() and not origin.is_symlink():
                target.mkdir(parents=True, exist_ok=True)
                shutil.copystat(origin, target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_symlink():
                target.symlink_to(os.readlink(origin))
            else:
                os.link(origin, target)
        return Directory(new, self)

    def file_from(self, source: Path) -> File:
        new = self.new_dir() / source.name
        shutil.copy2(source, new)
        return File(new, self)

    def new_file(self, name: str, contents: str, permissions: int | None) -> File:
        path = self.new_dir() / name
        path.write_text(contents)
        path.chmod(permissions or 0o644)
        return File(path, self)

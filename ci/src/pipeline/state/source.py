"""What is being promoted, read from git: sha, dirty flag, commit time and author."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import UsageError


@dataclass(frozen=True)
class Source:
    commit: str
    dirty: bool
    commit_time: str
    author: str

    @property
    def sha(self) -> str:
        """The label an artifact is known by; a dirty tree can never pass for its commit."""
        return f"{self.commit}-dirty" if self.dirty else self.commit

    @property
    def short(self) -> str:
        return self.sha[:12] + ("-dirty" if self.dirty else "")


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=30
        )
    except FileNotFoundError:
        raise UsageError(
            "git is not installed; the pipeline identifies artifacts by git sha"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise UsageError(
            f"git {' '.join(args)} failed in {repo}: {exc.stderr.strip()}; "
            "run the pipeline from a git clone with at least one commit"
        ) from None
    return done.stdout.strip()


def read(repo: Path) -> Source:
    commit, commit_time, author = _git(repo, "log", "-1", "--format=%H%n%cI%n%an <%ae>").split("\n")
    status = _git(repo, "status", "--porcelain", "--untracked-files=normal")
    return Source(commit, bool(status), commit_time, author)

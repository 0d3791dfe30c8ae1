"""Where things live in the repository, and the environments Terraform defines."""

import getpass
import os
import socket
import tomllib
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError


def root() -> Path:
    """The repository root: `PIPELINE_ROOT`, else the nearest parent holding `dagger.json`."""
    override = os.environ.get("PIPELINE_ROOT")
    if override:
        return Path(override).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "dagger.json").is_file() and (candidate / "terraform").is_dir():
            return candidate
    raise UsageError(
        f"no pipeline repository found at or above {here}; run ./pipeline from the repository "
        "or set PIPELINE_ROOT"
    )


def state_dir(repo: Path) -> Path:
    """Local state (runs, caches, the emulator's pidfile): `.pipeline/`, or PIPELINE_STATE_DIR."""
    override = os.environ.get("PIPELINE_STATE_DIR")
    path = Path(override).resolve() if override else repo / ".pipeline"
    path.mkdir(parents=True, exist_ok=True)
    return path


def environments(repo: Path) -> list[str]:
    """Environment names are the tfvars files Terraform knows, so the two cannot disagree."""
    return sorted(p.stem for p in (repo / "terraform" / "environments").glob("*.tfvars"))


def check_environment(repo: Path, name: str) -> str:
    known = environments(repo)
    if name not in known:
        raise UsageError(
            f"unknown environment {name!r}; valid environments are: {', '.join(known)} "
            "(from terraform/environments/*.tfvars)"
        )
    return name


def settings(repo: Path) -> dict[str, Any]:
    """The pipeline's own settings: `[tool.newsflow]` in pyproject.toml."""
    with (repo / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle).get("tool", {}).get("newsflow", {})


def protected_environments(repo: Path) -> set[str]:
    """Environments that take only clean, committed builds."""
    return set(settings(repo).get("protected_environments", []))


def operator() -> str:
    """Who runs this promotion, for the ledger: set PIPELINE_OPERATOR in CI."""
    return os.environ.get("PIPELINE_OPERATOR") or f"{getpass.getuser()}@{socket.gethostname()}"

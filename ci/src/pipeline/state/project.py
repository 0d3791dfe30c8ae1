"""Where things live in the repository, and the environments Terraform defines."""

import getpass
import os
import socket
import tomllib
from dataclasses import dataclass
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


# Keys of the gate's JSON beside one key per environment; an environment may not take one.
RESERVED_NAMES = ("environment", "emergency", "frozen", "change", "reasons", "first", "protected")


@dataclass(frozen=True)
class Environments:
    """The environments a change passes through, in order, and which of them are protected.
    The first builds; each one after it takes only what the one before it validated."""

    order: tuple[str, ...]
    protected: frozenset[str]

    @property
    def first(self) -> str:
        return self.order[0]

    @property
    def last(self) -> str:
        return self.order[-1]

    def predecessor(self, env: str) -> str | None:
        """The environment `env` takes its bytes from; None for the first, which builds."""
        if env not in self.order:
            raise UsageError(
                f"{env} is not in promotion_order ({', '.join(self.order)}) in [tool.newsflow], "
                "so nothing says what it may take; add it there"
            )
        index = self.order.index(env)
        return self.order[index - 1] if index > 0 else None


def promotion_order(repo: Path) -> Environments:
    """`promotion_order` and `protected_environments` from `[tool.newsflow]`, checked against
    the tfvars files, so a typo names itself instead of silently taking another's rules."""
    raw = settings(repo)
    order, protected = raw.get("promotion_order"), raw.get("protected_environments", [])
    where = "[tool.newsflow] in pyproject.toml"
    if not isinstance(order, list) or not order or not all(isinstance(e, str) for e in order):
        raise UsageError(f"{where}: promotion_order must be a list of environment names")
    if not isinstance(protected, list) or not all(isinstance(e, str) for e in protected):
        raise UsageError(f"{where}: protected_environments must be a list of environment names")
    known = environments(repo)
    for name in [*order, *protected]:
        if name not in known:
            raise UsageError(
                f"{where} names {name!r}, which has no terraform/environments/{name}.tfvars; "
                f"the environments are: {', '.join(known)}"
            )
        if name in RESERVED_NAMES:
            raise UsageError(f"{where}: {name!r} is a reserved word; rename the environment")
    if len(set(order)) != len(order):
        raise UsageError(f"{where}: promotion_order names an environment twice: {order}")
    outside = sorted(set(protected) - set(order))
    if outside:
        raise UsageError(f"{where}: protected {', '.join(outside)} not in promotion_order")
    return Environments(tuple(order), frozenset(protected))


def operator() -> str:
    """Who runs this promotion, for the ledger: set PIPELINE_OPERATOR in CI."""
    return os.environ.get("PIPELINE_OPERATOR") or f"{getpass.getuser()}@{socket.gethostname()}"

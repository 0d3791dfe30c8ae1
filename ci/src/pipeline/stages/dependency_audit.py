"""The dependency audit: every pinned version in the lock files, checked against the advisory
database. The pipeline's own environments come from `uv.lock` and `ci/uv.lock`; the Lambdas'
from each function's `requirements.txt`, which is what its zip holds.

Three results, never confused: `clean` (the database answered and knows nothing against any
version), `vulnerable` (it named advisories), and `skipped` (it could not be asked, so nothing
was checked). A skip is not a pass and is never reported as one."""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.adapters import advisories
from pipeline.errors import UsageError

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


@dataclass
class Report:
    status: str  # clean, vulnerable or skipped
    packages: int
    lock_files: list[str]
    findings: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""

    def message(self) -> str:
        where = f"{self.packages} pinned versions in {len(self.lock_files)} lock files"
        if self.status == "skipped":
            return f"skipped: no advisory database reachable ({self.reason}); {where} unchecked"
        if self.status == "clean":
            return f"no known vulnerabilities in {where} ({advisories.url()})"
        lines = [f"{len(self.findings)} known vulnerabilities in {where}:"]
        for f in self.findings:
            fix = f"upgrade to {f['fixed']}" if f["fixed"] else "no fixed version yet"
            lines.append(f"  {f['package']} {f['version']}: {f['id']} {f['summary']} ({fix}; "
                         f"in {f['lock_file']})")  # fmt: skip
        return "\n".join(lines)


def lock_files(repo: Path) -> list[Path]:
    found = [repo / "uv.lock", repo / "ci" / "uv.lock"]
    found += sorted((repo / "lambdas").glob("*/requirements.txt"))
    return [path for path in found if path.is_file()]


def pinned(path: Path, repo: Path) -> list[tuple[str, str]]:
    """(name, version) of every package the lock file pins from a registry."""
    where = path.relative_to(repo)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the lock file {where}: {exc}") from None
    if path.suffix == ".lock":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(
                f"the lock file {where} is not valid TOML ({exc}); regenerate it with `uv lock`"
            ) from None
        return [
            (p["name"], p["version"])
            for p in data.get("package", [])
            if isinstance(p, dict) and "registry" in p.get("source", {}) and "version" in p
        ]
    return [(m[1], m[2]) for line in text.splitlines() if (m := PIN.match(line.strip()))]


def audit(repo: Path) -> Report:
    locks = lock_files(repo)
    where: dict[tuple[str, str], list[str]] = {}
    for path in locks:
        for package in pinned(path, repo):
            where.setdefault(package, []).append(path.relative_to(repo).as_posix())
    names = [path.relative_to(repo).as_posix() for path in locks]
    packages = sorted(where)
    try:
        found = advisories.known(packages)
    except advisories.Unreachable as exc:
        return Report("skipped", len(packages), names, reason=str(exc))
    findings = [
        {"package": name, "version": version, "id": a.id, "summary": a.summary,
         "fixed": ", ".join(a.fixed), "lock_file": ", ".join(where[(name, version)])}
        for (name, version), found_for in sorted(found.items())
        for a in found_for
    ]  # fmt: skip
    return Report("vulnerable" if findings else "clean", len(packages), names, findings)

"""The images the module pins, as this machine can provide them without a registry.

Each image says what its filesystem holds, which environment variables its config sets, and
how its steps that install software are satisfied from the host (after checking that what they
install is really here, in the version the image pins)."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.dagger.executor.objects import EngineError, Unsupported

# What `apt-get install` would bring, by the binaries the steps then call.
APT_BINARIES = {"git": ["git"], "nodejs": ["node"], "npm": ["npm"], "ca-certificates": [],
                "bubblewrap": ["bwrap"], "iproute2": ["ip"], "jq": ["jq"]}  # fmt: skip
# The config of python:3.12-slim (Debian bookworm), as `docker inspect` shows it.
PYTHON_ENV = {
    "PATH": "/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "PYTHON_VERSION": "3.12",
}


def host_python() -> Path:
    """The host's newest CPython 3.12 prefix (the image's Python), else this interpreter's."""
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = sorted(pyenv.glob("3.12.*")) if pyenv.is_dir() else []
    return candidates[-1] if candidates else Path(sys.base_prefix)


def host_uv(version: str) -> Path:
    """The uv that `pip install uv==VERSION` would install; the host's must be that version."""
    found = os.environ.get("PIPELINE_UV") or shutil.which("uv")
    if not found:
        raise EngineError("no uv on this host to satisfy `pip install uv`")
    said = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout
    if said.split()[1] != version:
        raise EngineError(f"the step installs uv {version}; this host has {said.strip()}")
    return Path(found)


@dataclass(frozen=True)
class Image:
    repository: str
    env: dict[str, str] = field(default_factory=dict)
    seed: Callable[[Path], None] | None = None  # lays the image's own files into a rootfs
    files: dict[str, Callable[[], Path]] = field(default_factory=dict)
    binds: Callable[[], list[Path]] = list  # host paths the image's files point into
    service: Callable[[str, int], list[str]] | None = None  # (host, port) -> argv
    listens: tuple[int, ...] = ()  # the ports the image's entrypoint listens on

    def satisfy(self, args: list[str], rootfs: Path) -> str | None:
        """Output for a software-installing exec this image satisfies from the host, or None
        when the exec is to run for real."""
        if args[:2] == ["sh", "-c"] and "apt-get install" in args[2]:
            return _apt(args[2])
        if args[:2] == ["pip", "install"]:
            return _pip(args[2:], rootfs)
        return None


def _apt(script: str) -> str:
    words = shlex.split(script.split("apt-get install", 1)[1].split("&&")[0])
    packages = [w for w in words if not w.startswith("-")]
    for package in packages:
        if package not in APT_BINARIES:
            raise Unsupported(f"apt package {package!r}: the executor cannot provide it")
        for binary in APT_BINARIES[package]:
            if not shutil.which(binary):
                raise EngineError(f"apt-get install {package}: {binary} is not on this host")
    return f"(executor) apt packages provided by the host: {' '.join(packages)}\n"


def _pip(words: list[str], rootfs: Path) -> str:
    wanted = [w for w in words if not w.startswith("-")]
    if len(wanted) != 1 or not re.fullmatch(r"uv==[\w.]+", wanted[0]):
        raise Unsupported(f"pip install {' '.join(words)}: the executor provides only uv==X")
    uv = host_uv(wanted[0].split("==")[1])
    target = rootfs / "usr" / "local" / "bin" / "uv"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(uv, target)
    return f"(executor) {wanted[0]} provided by the host\n"


def _seed_python(rootfs: Path) -> None:
    prefix = host_python()
    local = rootfs / "usr" / "local" / "bin"
    local.mkdir(parents=True, exist_ok=True)
    version = next(
        p.name for p in (prefix / "bin").glob("python3.*") if re.fullmatch(r"python3\.\d+", p.name)
    )
    for name in ("python", "python3", version, "pip", "pip3"):
        target = prefix / "bin" / (version if name.startswith("python") else "pip3")
        (local / name).symlink_to(target)
    for directory in ("root", "tmp", "etc", "proc", "dev", "var/tmp", "var/cache", "var/lib"):
        (rootfs / directory).mkdir(parents=True, exist_ok=True)
    for name in ("bin", "sbin", "lib", "lib64"):  # Debian's merged /usr, as in the image
        (rootfs / name).symlink_to(f"usr/{name}")
    (rootfs / "tmp").chmod(0o1777)


def _terraform_binary() -> Path:
    found = shutil.which("terraform")
    if not found:
        raise EngineError("no terraform on this host to stand in for the terraform image")
    return Path(found)


def _moto(version: str) -> Callable[[str, int], list[str]]:
    def argv(host: str, port: int) -> list[str]:
        import moto

        if moto.__version__ != version:
            raise EngineError(f"the image is moto {version}; this host has {moto.__version__}")
        return [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]

    return argv


def _check_terraform(version: str) -> Callable[[], Path]:
    def provide() -> Path:
        binary = _terraform_binary()
        said = subprocess.run([binary, "version"], capture_output=True, text=True).stdout
        if f"v{version}" not in said.splitlines()[0]:
            raise EngineError(f"the image is terraform {version}; this host has {said[:40]}")
        return binary

    return provide


def resolve(address: str) -> Image:
    """The image at a pinned address (`repo:tag@sha256:...`)."""
    if "@sha256:" not in address:
        raise EngineError(f"{address} is not pinned by digest")
    repository, tag = address.split("@")[0].rsplit(":", 1)
    if repository == "python" and tag.startswith("3.12"):
        return Image(repository, PYTHON_ENV, _seed_python, binds=lambda: [host_python()])
    if repository == "hashicorp/terraform":
        return Image(repository, files={"/bin/terraform": _check_terraform(tag)})
    if repository == "motoserver/moto":
        return Image(repository, service=_moto(tag), listens=(5000,))
    raise Unsupported(f"image {address}: the executor cannot provide it here")

"""Containers and services, executed: each container chain becomes a bubblewrap sandbox that holds
exactly what the graph declares, and each service a process in a network namespace that only
the containers bound to it share.

A container is lazy, as in the engine: `with_*` only describes; a field that needs a result
(stdout, exit code, a directory) evaluates the chain. Every evaluated state is remembered by its
digest (its parent's digest plus the operation and the digests of what the operation takes), so
an unchanged chain runs once, as the engine's cache would run it once."""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.dagger.executor import images, layers
from tests.dagger.executor.objects import (
    CacheVolume,
    Directory,
    EngineError,
    File,
    Secret,
    Unsupported,
    copy_tree,
)

if TYPE_CHECKING:
    from tests.dagger.executor.session import Engine

EXEC_TIMEOUT = 1800
# Facts of this machine, not of a real container: uv's and node's built-in roots reject this
# network's TLS, so they are pointed at the system's certificates.
MACHINE_ENV = {
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "NODE_EXTRA_CA_CERTS": "/etc/ssl/certs/ca-certificates.crt",
}
# The capabilities the engine's containers keep (the OCI runtime's defaults, as Docker's): no
# CAP_SYS_ADMIN or CAP_NET_ADMIN, so no mounts, namespaces or sandboxes of an exec's own, unless
# it asks for insecureRootCapabilities. bubblewrap run by root keeps all of them otherwise.
DEFAULT_CAPABILITIES = (
    "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID",
    "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
)  # fmt: skip
# Where Terraform looks for an implied provider mirror; the host's mirror is bound there.
TF_MIRROR_AT = "/usr/local/share/terraform/plugins"


@dataclass
class ExecResult:
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    env: dict[str, str] = field(default_factory=dict)  # the plain variables it ran with
    secrets: tuple[str, ...] = ()  # the names of the secret variables


@dataclass
class State:
    """A container as the engine holds it after some operations."""

    image: images.Image | None
    layers: tuple[Path, ...]  # the filesystem, lowest layer first
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    mounts: dict[str, CacheVolume] = field(default_factory=dict)
    workdir: str = "/"
    services: dict[str, "Service"] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    result: ExecResult | None = None


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _key(value: Any) -> Any:
    """What the engine's cache key sees of an argument: digests for objects, values otherwise."""
    if isinstance(value, list):
        return [_key(v) for v in value]
    return getattr(value, "digest", value)


@dataclass
class Container:
    TYPENAME = "Container"
    engine: "Engine"
    parent: "Container | None" = None
    op: str = "container"
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        args = {k: _key(v) for k, v in sorted(self.args.items()) if v is not None}
        return _digest(self.parent.digest if self.parent else None, self.op, args)

    def _then(self, op: str, **args: Any) -> "Container":
        return Container(self.engine, self, op, args)

    # -- building (lazy) ------------------------------------------------------------------------

    def gql_from(self, address: str, registryService: Any = None) -> "Container":
        images.resolve(address)  # an unknown or unpinned image fails here, by name
        return self._then("from", address=address)

    def gql_withMountedCache(self, path: str, cache: CacheVolume, **options: Any) -> "Container":
        _refuse(options, "withMountedCache", allowed={"sharing"})
        return self._then("withMountedCache", path=path, cache=cache)

    def gql_withExec(self, args: list[str], expect: str | None = None,
                     insecureRootCapabilities: bool | None = None,
                     **options: Any) -> Any:  # fmt: skip
        _refuse(options, "withExec")
        return self._then("withExec", args=args, expect=expect or "SUCCESS",
                          privileged=bool(insecureRootCapabilities))  # fmt: skip

    def gql_withFile(self, path: str, source: File, permissions: int | None = None,
                     **options: Any) -> "Container":  # fmt: skip
        _refuse(options, "withFile")
        return self._then("withFile", path=path, source=source, permissions=permissions)

    def gql_withNewFile(self, path: str, contents: str, permissions: int | None = None,
                        **options: Any) -> "Container":  # fmt: skip
        _refuse(options, "withNewFile")
        file = self.engine.store.new_file(Path(path).name, contents, permissions)
        return self._then("withFile", path=path, source=file, permissions=permissions)

    def gql_withDirectory(self, path: str, source: Directory, **options: Any) -> "Container":
        _refuse(options, "withDirectory")
        return self._then("withDirectory", path=path, source=source)

    def gql_withEnvVariable(self, name: str, value: str, **options: Any) -> "Container":
        _refuse(options, "withEnvVariable")
        return self._then("withEnvVariable", name=name, value=value)

    def gql_withoutEnvVariable(self, name: str) -> "Container":
        return self._then("withoutEnvVariable", name=name)

    def gql_withWorkdir(self, path: str, **options: Any) -> "Container":
        _refuse(options, "withWorkdir")
        return self._then("withWorkdir", path=path)

    def gql_withSecretVariable(self, name: str, secret: Secret) -> "Container":
        return self._then("withSecretVariable", name=name, secret=secret)

    def gql_withServiceBinding(self, alias: str, service: "Service") -> "Container":
        return self._then("withServiceBinding", alias=alias, service=service)

    def gql_withExposedPort(self, port: int, **options: Any) -> "Container":
        _refuse(options, "withExposedPort", allowed={"protocol", "description"})
        return self._then("withExposedPort", port=port)

    def gql_asService(self, args: list[str] | None = None, useEntrypoint: bool | None = None,
                      **options: Any) -> "Service":  # fmt: skip
        _refuse(options, "asService")
        if args:
            raise Unsupported("asService(args): the executor runs only an image's entrypoint")
        return Service(self.engine, container=self)

    # -- reading (evaluates) --------------------------------------------------------------------

    def gql_sync(self) -> "Container":
        self.engine.evaluate(self)
        return self

    def gql_stdout(self) -> str:
        return self._last().stdout

    def gql_stderr(self) -> str:
        return self._last().stderr

    def gql_exitCode(self) -> int:
        return self._last().exit_code

    def gql_directory(self, path: str, **options: Any) -> Directory:
        _refuse(options, "directory")
        with self._reading(path) as where:
            if not where.is_dir():
                raise EngineError(f"lstat {path}: no such file or directory")
            return self.engine.store.directory_from(where, copy=True)

    def gql_file(self, path: str, **options: Any) -> File:
        _refuse(options, "file")
        state = self.engine.evaluate(self)
        with self._reading(path) as where:
            if where.is_file():
                return self.engine.store.file_from(where)
        if state.image and path in state.image.files:
            return self.engine.store.file_from(state.image.files[path]())
        raise EngineError(f"lstat {path}: no such file or directory")

    def _last(self) -> ExecResult:
        result = self.engine.evaluate(self).result
        if result is None:
            raise EngineError("no command has been set")
        return result

    @contextlib.contextmanager
    def _reading(self, path: str) -> Iterator[Path]:
        state = self.engine.evaluate(self)
        with layers.merged(state.layers, self.engine.store.new_dir()) as root:
            yield root / str(Path(state.workdir) / path).lstrip("/")


def _refuse(options: dict[str, Any], where: str, allowed: set[str] = frozenset()) -> None:
    """Options the module does not use are not modelled; using one fails by name."""
    used = {k for k, v in options.items() if v not in (None, False, "", []) and k not in allowed}
    if used:
        raise Unsupported(f"{where}({', '.join(sorted(used))}) is not modelled by the executor")


def apply(engine: "Engine", container: Container, parent: State | None) -> State:
    """One operation on a parent state. An operation that writes the filesystem adds a layer;
    the others share the parent's layers."""
    op, args = container.op, container.args
    if op == "container":
        return State(None, (engine.store.new_dir(),))
    assert parent is not None
    if op == "from":
        image = images.resolve(args["address"])
        seeded = engine.store.new_dir()
        if image.seed:
            image.seed(seeded)
        return State(image, (parent.layers[0], seeded), workdir="/")
    if parent.image is None:
        raise EngineError(f"{op} on a container with no image (call from() first)")
    state = replace(parent, env=dict(parent.env), secrets=dict(parent.secrets),
                    mounts=dict(parent.mounts), services=dict(parent.services),
                    ports=list(parent.ports))  # fmt: skip
    if op == "withEnvVariable":
        state.env[args["name"]] = args["value"]
        state.secrets.pop(args["name"], None)
    elif op == "withoutEnvVariable":
        state.env.pop(args["name"], None)
    elif op == "withSecretVariable":
        state.secrets[args["name"]] = args["secret"]
        state.env.pop(args["name"], None)
    elif op == "withWorkdir":
        state.workdir = str(Path(parent.workdir) / args["path"])
    elif op == "withMountedCache":
        state.mounts[str(Path(parent.workdir) / args["path"])] = args["cache"]
    elif op == "withServiceBinding":
        state.services[args["alias"]] = args["service"]
    elif op == "withExposedPort":
        state.ports.append(args["port"])
    elif op in ("withFile", "withDirectory"):
        layer = engine.store.new_dir()
        state.layers = (*parent.layers, layer)
        target = layer / str(Path(parent.workdir) / args["path"]).lstrip("/")
        source = args["source"]
        if op == "withFile":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copy2(source.path, target)
            if args["permissions"]:
                target.chmod(args["permissions"])
        else:
            copy_tree(source.path, target)
    elif op == "withExec":
        upper = engine.store.new_dir()
        state.result = run(engine, state, upper, args["args"], args["expect"],
                           privileged=args["privileged"])  # fmt: skip
        state.layers = (*parent.layers, upper)
    else:
        raise Unsupported(f"Container.{op}")
    return state


def run(engine: "Engine", state: State, upper: Path, argv: list[str], expect: str, *,
        privileged: bool = False) -> ExecResult:  # fmt: skip
    """One withExec, writing into `upper`: satisfied from the host if it only installs
    software, else in a sandbox (`privileged`: root keeps its capabilities in it, as the
    engine's insecureRootCapabilities does, so that the exec can make sandboxes of its own)."""
    started = time.monotonic()
    assert state.image is not None
    said = state.image.satisfy(argv, upper)
    if said is not None:
        result = ExecResult(argv, 0, said, "", 0.0, dict(state.env))
    else:
        with layers.merged(state.layers, engine.store.new_dir(), upper) as root:
            result = _sandboxed(engine, state, root, argv, started, privileged)
    engine.executed.append(result)
    ok = {
        "SUCCESS": result.exit_code == 0,
        "FAILURE": result.exit_code != 0 and result.exit_code <= 127,
        "ANY": result.exit_code <= 127 or result.exit_code >= 192,
    }[expect]
    if not ok:
        command = " ".join(argv)
        raise EngineError(
            f'process "{command}" did not complete successfully: exit code: {result.exit_code}',
            {"_type": "EXEC_ERROR", "cmd": argv, "exitCode": result.exit_code,
             "stdout": result.stdout, "stderr": result.stderr},
        )  # fmt: skip
    return result


def _sandboxed(engine: "Engine", state: State, root: Path, argv: list[str], started: float,
               privileged: bool) -> ExecResult:  # fmt: skip
    session = engine.session
    netns = session.network_for(state.services) if state.services else None
    # A container holding secrets reaches nothing but its services: a test can never call AWS.
    isolated = ["--unshare-net"] if state.secrets and not netns else []
    hosts = root.with_name(root.name + ".hosts")
    hosts.write_text(
        "127.0.0.1\tlocalhost\n::1\tlocalhost\n"
        + "".join(f"127.0.0.1\t{alias}\n" for alias in sorted(state.services))
    )
    workdir = root / state.workdir.lstrip("/")
    workdir.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []  # mount points the executor itself needed, removed afterwards
    binds: list[tuple[str, str, str]] = []  # (kind, host path, sandbox path)
    if (root / "usr" / "local").is_dir():
        binds.append(("--bind", str(root / "usr" / "local"), "/usr/local"))
    for path in state.image.binds():
        binds.append(("--ro-bind", str(path), str(path)))
        made += _missing_mount_points(root, str(path))
    mirror = engine.terraform_mirror
    if mirror:
        binds.append(("--ro-bind", str(mirror), TF_MIRROR_AT))
        made += _missing_mount_points(root, TF_MIRROR_AT)
    for path, cache in state.mounts.items():
        binds.append(("--bind", str(cache.path), path))
    binds.sort(key=lambda b: b[2].count("/"))
    command = [
        "bwrap", "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--hostname", "dagger", *isolated, "--cap-drop", "ALL",
        *[arg for cap in (("ALL",) if privileged else DEFAULT_CAPABILITIES)
          for arg in ("--cap-add", cap)],
        "--bind", str(root), "/",
        "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
        "--ro-bind", str(hosts), "/etc/hosts",
        "--proc", "/proc", "--dev", "/dev",
    ]  # fmt: skip
    for kind, source, target in binds:
        command += [kind, source, target]
    env = {"HOME": "/root", **state.image.env, **state.env, **MACHINE_ENV}
    env.update({name: secret.plaintext for name, secret in state.secrets.items()})
    command += ["--chdir", state.workdir, "env", "-i", *[f"{k}={v}" for k, v in env.items()],
                *argv]  # fmt: skip
    if netns:
        command = ["ip", "netns", "exec", netns, *command]
        resolv = root.with_name(root.name + ".resolv")
        resolv.write_text("nameserver 127.0.0.1\n")
        command[command.index("/etc/hosts") + 1 : command.index("/etc/hosts") + 1] = [
            "--ro-bind", str(resolv), "/etc/resolv.conf"]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=EXEC_TIMEOUT,
                              check=False, errors="replace")  # fmt: skip
    finally:
        for path in reversed(made):
            with contextlib.suppress(OSError):
                path.rmdir()
    stdout, stderr = done.stdout, done.stderr
    for secret in state.secrets.values():  # the engine scrubs secret values from output
        stdout, stderr = (
            stdout.replace(secret.plaintext, "***"),
            stderr.replace(secret.plaintext, "***"),
        )
    if done.returncode != 0 and "bwrap:" in stderr and not stdout:
        raise EngineError(f"the sandbox could not start: {stderr.strip()}")
    seconds = round(time.monotonic() - started, 3)
    return ExecResult(argv, done.returncode, stdout, stderr, seconds, dict(state.env),
                      tuple(sorted(state.secrets)))  # fmt: skip


def _missing_mount_points(rootfs: Path, path: str) -> list[Path]:
    """Directories bwrap will create inside the rootfs for a mount point, outermost first."""
    created, current = [], rootfs
    for part in Path(path).parts[1:]:
        current = current / part
        if not current.exists():
            created.append(current)
    return created


@dataclass
class Service:
    TYPENAME = "Service"
    engine: "Engine"
    container: Container | None = None
    host_ports: tuple[tuple[int, int], ...] = ()  # (frontend, backend) of a host service
    host: str = "localhost"

    @property
    def digest(self) -> str:
        if self.container:
            return _digest("service", self.container.digest)
        return _digest("host-service", self.host, self.host_ports)

    def gql_sync(self) -> "Service":
        return self

    def gql_up(self, ports: list[dict[str, Any]] | None = None, random: bool | None = None) -> None:
        """`dagger call ... up --ports F:B`: the service on the host's loopback until the test
        stops it (the engine would forward F to the service's B)."""
        if not self.container or not ports or random:
            raise Unsupported("Service.up: the executor serves a container's ports as given")
        [forward] = ports
        self.engine.serve_on_host(self, int(forward["frontend"]), int(forward["backend"]))

    def argv(self, host: str, port: int, *, at: int | None = None) -> list[str]:
        """The process serving the image's port `port` (on `at` on the host, for `up`)."""
        assert self.container is not None
        state = self.engine.evaluate(self.container)
        if state.image is None or state.image.service is None:
            raise Unsupported(f"a service from image {state.image}: only moto can run here")
        if port not in state.image.listens:
            # The engine health-checks every exposed port; nothing listens on this one.
            raise EngineError(
                f"service health check failed: nothing listens on port {port} "
                f"(the image listens on {list(state.image.listens)})"
            )
        return state.image.service(host, at or port)


class Running:
    """A service's process; stopped when the client session that started it ends."""

    def __init__(self, argv: list[str], netns: str | None, port: int, log: Path, *,
                 udp: bool = False) -> None:  # fmt: skip
        prefix = ["ip", "netns", "exec", netns] if netns else []
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*prefix, *argv], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        probe = (
            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.settimeout(1); s.sendto(bytes(12), ('127.0.0.1', {port})); s.recvfrom(512)"
            if udp
            else f"import socket; socket.create_connection(('127.0.0.1', {port}), 1).close()"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EngineError(f"service {argv[:3]} exited with {self.process.returncode}")
            check = subprocess.run([*prefix, "python3", "-c", probe], capture_output=True)
            if check.returncode == 0:
                return
            time.sleep(0.2)
        self.stop()
        raise EngineError(f"service {argv[:3]} did not listen on {port} within 60 s")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

"""The engine stand-in: a GraphQL session that serves Dagger's real schema, validates every query
against it and resolves each field on the executor's objects.

It is installed where the SDK keeps its connection, so the module's own code runs unchanged. A
field the executor does not implement raises `Unsupported`, and the session remembers it: a test
fixture fails on it by name, so new module code cannot escape execution silently."""

import itertools
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
from dagger.client._session import SharedConnection
from gql.transport.exceptions import TransportQueryError

from tests.dagger.executor.container import Container, ExecResult, Running, Service, State, apply
from tests.dagger.executor.objects import (
    CacheVolume,
    Directory,
    EngineError,
    File,
    Secret,
    Store,
    Unsupported,
)

DNS = Path(__file__).with_name("dns.py")
# The schema ../shared holds on this machine; the module's `test` check gives the engine's own.
SCHEMA_FILE = Path(
    os.environ.get("NEWSFLOW_DAGGER_SCHEMA")
    or Path(__file__).resolve().parents[4] / "shared" / "dagger" / "schema-v0.21.8.graphqls"
)


def load_schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


class SdkSession:
    """What the SDK asks of the session it finds on `SharedConnection`, besides `execute`:
    shared by this executor and the shape tests' fake session."""

    schema: graphql.GraphQLSchema

    async def start(self) -> "SdkSession":
        return self

    async def get_schema(self) -> graphql.GraphQLSchema:
        return self.schema

    async def close(self) -> None:
        return None


@dataclass
class Host:
    TYPENAME = "Host"
    engine: "Engine"

    def gql_directory(self, path: str, exclude: list[str] | None = None, **options: Any) -> Any:
        if any(options.values()):
            raise Unsupported(f"Host.directory({', '.join(k for k, v in options.items() if v)})")
        return self.engine.store.directory_from(Path(path), exclude)

    def gql_file(self, path: str, noCache: bool | None = None) -> File:
        return self.engine.store.file_from(Path(path))

    def gql_service(self, ports: list[dict[str, Any]], host: str | None = None) -> Service:
        forwards = tuple((int(p.get("frontend") or p["backend"]), int(p["backend"])) for p in ports)
        return Service(self.engine, host_ports=forwards, host=host or "localhost")


@dataclass
class Query:
    TYPENAME = "Query"
    engine: "Engine"

    def gql_container(self, platform: str | None = None) -> Container:
        return Container(self.engine)

    def gql_directory(self) -> Directory:
        return Directory(self.engine.store.new_dir(), self.engine.store)

    def gql_file(self, name: str, contents: str, permissions: int | None = None) -> File:
        return self.engine.store.new_file(name, contents, permissions)

    def gql_cacheVolume(self, key: str, **options: Any) -> CacheVolume:
        return self.engine.cache_volume(key)

    def gql_setSecret(self, name: str, plaintext: str) -> Secret:
        return Secret(name, plaintext)

    def gql_host(self) -> Host:
        return Host(self.engine)

    def gql_node(self, id: Any) -> Any:
        return id  # already loaded: every argument of an ID type is


class ClientSession:
    """One `dagger call`: the services it starts live until it ends, in one network namespace."""

    _names = itertools.count()

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.netns: str | None = None
        self.running: dict[str, Running] = {}
        self.resolver: Running | None = None

    def network_for(self, services: dict[str, Service]) -> str | None:
        """The namespace the container runs in: its services' (None: the host's, for services
        that are the host's own loopback ports)."""
        hosted = {alias: s for alias, s in services.items() if s.host_ports}
        if hosted:
            if len(hosted) != len(services):
                raise Unsupported("a container bound to both host and container services")
            for service in hosted.values():
                if any(front != back for front, back in service.host_ports):
                    raise Unsupported("a host service whose frontend port is not its backend")
            return None
        if self.netns is None:
            self.netns = f"nfx{os.getpid()}-{next(self._names)}"
            subprocess.run(["ip", "netns", "add", self.netns], check=True)
            subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
            resolver = [sys.executable, str(DNS), str(self.engine.looked_up)]
            self.resolver = Running(resolver, self.netns, 53, self.engine.store.root / "dns.err",
                                    udp=True)  # fmt: skip
        for service in services.values():
            if service.digest not in self.running:
                [port] = service.engine.evaluate(service.container).ports
                log = self.engine.store.root / f"service-{service.digest[:12]}.log"
                self.running[service.digest] = Running(service.argv("127.0.0.1", port), self.netns,
                                                       port, log)  # fmt: skip
        return self.netns

    def close(self) -> None:
        for running in [*self.running.values(), *([self.resolver] if self.resolver else [])]:
            running.stop()
        self.running.clear()
        self.resolver = None
        if self.netns:
            subprocess.run(["ip", "netns", "delete", self.netns], check=False)
            self.netns = None


@dataclass
class Engine(SdkSession):
    """The session the SDK talks to, and the engine's state that outlives client sessions:
    snapshots, the exec cache, cache volumes and services started with `up`."""

    schema: graphql.GraphQLSchema
    root: Path
    terraform_mirror: Path | None = None
    seeded_caches: dict[str, Path] = field(default_factory=dict)
    secrets_from_env: dict[str, str] = field(default_factory=dict)
    executed: list[ExecResult] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)
    states: dict[str, State] = field(default_factory=dict)
    hosted: list[Running] = field(default_factory=list)
    session: ClientSession = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.store = Store(self.root / "store")
        self.looked_up = self.root / "names-looked-up.log"  # every name a service network was asked
        self.session = ClientSession(self)

    # -- the SDK's session interface ------------------------------------------------------------

    async def execute(self, request: Any) -> dict[str, Any]:
        document = request.document
        problems = graphql.validate(self.schema, document)
        if problems:
            raise AssertionError("invalid query: " + "; ".join(p.message for p in problems))
        result = graphql.execute(self.schema, document, root_value=Query(self),
                                 field_resolver=self._resolve,
                                 type_resolver=lambda value, *_: value.TYPENAME)  # fmt: skip
        if result.errors:
            errors = []
            for error in result.errors:
                original = error.original_error
                if isinstance(original, Unsupported):
                    self.unsupported.append(str(original))
                elif original is not None and not isinstance(original, EngineError):
                    raise original
                extensions = getattr(original, "extensions", {})
                errors.append({"message": error.message, "path": error.path,
                               "extensions": extensions})  # fmt: skip
            raise TransportQueryError(errors[0]["message"], errors=errors)
        return result.data or {}

    def _resolve(self, parent: Any, info: graphql.GraphQLResolveInfo, /, **args: Any) -> Any:
        if info.field_name == "id":
            return self.register(parent)
        method = getattr(parent, f"gql_{info.field_name}", None)
        if method is None:
            raise Unsupported(f"{info.parent_type.name}.{info.field_name}")
        definition = info.parent_type.fields[info.field_name]
        for name, value in list(args.items()):
            kind = graphql.get_named_type(definition.args[name].type).name
            if kind.endswith("ID") and value is not None:
                args[name] = [self.load(v) for v in value] if isinstance(value, list) else (
                    self.load(value))  # fmt: skip
        value = method(**args)
        returned = graphql.get_named_type(definition.type).name
        if returned.endswith("ID") and value is not None and not isinstance(value, str):
            return self.register(value)  # `sync` and the like answer with the object's id
        return value

    # -- objects ------------------------------------------------------------------------------

    def register(self, value: Any) -> str:
        ident = f"{value.TYPENAME}:{len(self.objects)}"
        self.objects[ident] = value
        return ident

    def load(self, ident: str) -> Any:
        if ident not in self.objects:
            raise EngineError(f"unknown id {ident}")
        return self.objects[ident]

    def cache_volume(self, key: str) -> CacheVolume:
        path = self.seeded_caches.get(key) or self.root / "cache-volumes" / key
        path.mkdir(parents=True, exist_ok=True)
        return CacheVolume(key, path)

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self, container: Container) -> State:
        digest = container.digest
        if digest not in self.states:
            parent = self.evaluate(container.parent) if container.parent else None
            self.states[digest] = apply(self, container, parent)
        return self.states[digest]

    def serve_on_host(self, service: Service, port: int, backend: int) -> None:
        log = self.store.root / f"up-{port}.log"
        argv = service.argv("127.0.0.1", backend, at=port)
        self.hosted.append(Running(argv, None, port, log))

    def leaks(self) -> list[str]:
        """Secret values that reached an exec other than as a secret: a plain variable, an
        argument, or output the engine did not scrub. Each is a finding against the module."""
        values = {o.plaintext: o.name for o in self.objects.values() if isinstance(o, Secret)}
        found = []
        for result in self.executed:
            for value, name in values.items():
                for where, text in [("args", " ".join(result.args)), *result.env.items()]:
                    if value in text:
                        found.append(f"secret {name} in {where} of `{' '.join(result.args[:3])}`")
        return found

    def new_session(self) -> None:
        self.session.close()
        self.session = ClientSession(self)

    def shutdown(self) -> None:
        self.session.close()
        for running in self.hosted:
            running.stop()
        self.hosted.clear()


def install(session: SdkSession) -> None:
    SharedConnection._session = session  # type: ignore[assignment]


def uninstall() -> None:
    SharedConnection._session = None

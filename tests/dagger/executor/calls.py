"""`dagger call`, as a user types it, against the executor.

Each call is one client session, as on a real engine: the module's object is constructed from
the source the engine would upload (the module's git root, filtered by the `source` argument's
`Ignore`) and the constructor arguments (secrets given as `env://NAME`, resolved or refused as
the CLI does), then one function runs and its result is read back: a string printed, a
directory exported, a service brought up. Function results are cached as the engine caches
them: by function and arguments, for every function not marked `cache="never"`."""

import enum
import inspect
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import dagger
from dagger import dag

from tests.dagger.executor.session import Engine

MODULE = "Newsflow"


@dataclass
class Result:
    function: str
    exit_code: int
    output: str
    seconds: float
    exported: Path | None = None


def registered() -> Any:
    return dagger.mod.default_module()._objects[MODULE]


def _sdk(kind: type, ident: str) -> Any:
    """An SDK object for an executor object, loaded by id as the SDK loads ids."""
    return kind(dag._ctx.select_id(kind.__name__, ident))


class Dagger:
    """The `dagger` CLI over one repository clone, with the host environment it reads
    `env://` secrets from."""

    def __init__(self, engine: Engine, repo: Path, env: dict[str, str] | None = None) -> None:
        self.engine = engine
        self.repo = repo
        self.env = env or {}
        self._cache: dict[str, Result] = {}
        self.calls: list[Result] = []

    def source(self) -> Any:
        [parameter] = [p for p in registered().get_constructor().parameters.values()
                       if p.default_path]  # fmt: skip
        root = self.repo / parameter.default_path.lstrip("/")
        directory = self.engine.store.directory_from(root, list(parameter.ignore or []))
        return _sdk(dagger.Directory, self.engine.register(directory))

    def call(self, function: str, module_args: dict[str, str] | None = None,
             then: tuple[str, ...] = (), **args: Any) -> Result:  # fmt: skip
        """`dagger call [MODULE ARGS] FUNCTION [ARGS] [THEN...]`; `then` is `("export", PATH)`
        for a Directory or File, `("up", "F:B")` for a Service."""
        key = repr((function, sorted((module_args or {}).items()), sorted(args.items()), then))
        policy = registered().functions[function.replace("-", "_")].cache_policy
        if policy != "never" and key in self._cache:
            cached = self._cache[key]
            self.calls.append(cached)
            return cached
        self.engine.new_session()
        started = time.monotonic()
        try:
            code, output, exported = anyio.run(self._run, function, module_args or {}, args, then)
        except (dagger.QueryError, RuntimeError, CallError) as exc:
            import traceback

            traceback.print_exc()
            code, output, exported = 1, str(exc), None
        finally:
            self.engine.session.close()
        result = Result(function, code, output, round(time.monotonic() - started, 1), exported)
        if policy != "never" and code == 0:
            self._cache[key] = result
        self.calls.append(result)
        return result

    async def _run(self, function: str, module_args: dict[str, str], args: dict[str, Any],
                   then: tuple[str, ...]) -> tuple[int, str, Path | None]:  # fmt: skip
        constructor = registered().get_constructor().parameters
        kwargs = {"source": self.source()}
        for name, value in module_args.items():
            kwargs[name] = self._convert(constructor[name].resolved_type, value)
        module = registered().cls(**kwargs)
        target = registered().functions[function.replace("-", "_")]
        converted = {name: self._convert(target.parameters[name].resolved_type, value)
                     for name, value in args.items()}  # fmt: skip
        result = getattr(module, target.original_name)(**converted)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            return 0, result, None
        if then[:1] == ("export",):
            path = Path(await result.export(then[1])).resolve()
            return 0, str(path), path
        if then[:1] == ("up",):
            front, back = (int(p) for p in then[1].split(":"))
            await result.up(ports=[dagger.PortForward(frontend=front, backend=back)])
            return 0, f"serving on 127.0.0.1:{front}", None
        await result.id()  # what the CLI does with an object it does not print
        return 0, "", None

    def _convert(self, kind: Any, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        base = _unoptional(kind)
        if base is dagger.Secret:
            scheme, _, name = value.partition("://")
            if scheme != "env":
                raise CallError(f"only env:// secrets are modelled, got {value}")
            if name not in self.env:
                raise CallError(f"failed to get secret: env var {name} not found")
            return dag.set_secret(name.lower(), self.env[name])
        if base is dagger.File:
            file = self.engine.store.file_from(Path(value))
            return _sdk(dagger.File, self.engine.register(file))
        if isinstance(base, type) and issubclass(base, enum.Enum):
            return base(value)
        return value


class CallError(Exception):
    """What the dagger CLI refuses before a function runs."""


def _unoptional(kind: Any) -> Any:
    args = [a for a in getattr(kind, "__args__", ()) if a is not type(None)]
    return args[0] if len(args) == 1 and type(None) in getattr(kind, "__args__", ()) else kind

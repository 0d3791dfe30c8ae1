"""Invoking deployed functions the way Lambda does: alias → version → that version's code.

The code comes from the environment's package bucket, found through the ledger by the version's
own CodeSha256, and is checked against that digest before it runs. External hosts a function is
configured to call (NewsAPI, the dashboard's Function URL) are mapped to their local stand-ins,
as a DNS override would."""

import base64
import hashlib
import io
import random
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.adapters.target import Target
from pipeline.errors import StageFailedError
from pipeline.runtime import alarms, layer
from pipeline.runtime.sandbox import FunctionSpec, Pool, SandboxDied
from pipeline.state.ledger import Ledger

ALIAS = "live"


def log_directory(state_dir: Path, env: str) -> Path:
    """Where an environment's sandbox logs are kept: its emulated CloudWatch Logs."""
    return state_dir / "runtime" / "logs" / env


@dataclass
class Invocation:
    """One invocation's outcome, shaped like Lambda's Invoke response."""

    function: str
    version: str
    payload: Any = None
    error: dict[str, Any] | None = None
    request_id: str = ""
    seconds: float = 0.0  # Lambda's Duration: the invocation, without a cold sandbox's init
    init_seconds: float = 0.0
    log_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe_error(self) -> str:
        assert self.error is not None
        return f"{self.error.get('errorType')}: {self.error.get('errorMessage')}"


class Runtime:
    """Runs one emulated environment's functions; close() stops its warm sandboxes."""

    def __init__(
        self, target: Target, env: str, state_dir: Path, hosts: dict[str, str] | None = None
    ) -> None:
        if target.kind != "emulated" or not target.endpoint:
            raise ValueError("the emulated runtime only runs functions of an emulated target")
        # Fetching code, resolving aliases and publishing metrics are Lambda's own work.
        self.target = target.as_service()
        self.env = env
        self.hosts = dict(hosts or {})
        self.state = state_dir
        self.root = state_dir / "runtime"
        self.layer_dir = layer.build(self.root / "layer")
        self.pool = Pool(log_directory(state_dir, env))
        self._lambda = self.target.client("lambda")
        self._cloudwatch = self.target.client("cloudwatch")
        self._ledger = Ledger(self.target, env)
        self._specs: dict[tuple[str, str], FunctionSpec] = {}
        self._roles: dict[str, Target] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()

    def resolve(self, function: str, qualifier: str = ALIAS) -> str:
        """The version an invocation of `function:qualifier` runs, honouring weighted routing."""
        if qualifier.isdigit() or qualifier == "$LATEST":
            return qualifier
        alias = self._lambda.get_alias(FunctionName=function, Name=qualifier)
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        draw = random.random()  # noqa: S311 - traffic splitting, not cryptography
        for version, weight in sorted(weights.items()):
            if draw < weight:
                return version
            draw -= weight
        return alias["FunctionVersion"]

    def invoke(self, function: str, event: Any, qualifier: str = ALIAS) -> Invocation:
        version = self.resolve(function, qualifier)
        spec = self.spec(function, version)
        sandbox = self.pool.acquire(spec)
        cold = not sandbox.initialised
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        request = {
            "event": event,
            "request_id": request_id,
            "deadline": time.time() + spec.timeout,
            "invoked_arn": self._arn(function, qualifier),
        }
        try:
            response = sandbox.invoke(request, spec.timeout)
        except SandboxDied as exc:
            kind = "Sandbox.Timedout" if "timed out" in str(exc) else "Runtime.ExitError"
            response = {"error": {"errorType": kind, "errorMessage": str(exc)}}
        finally:
            self.pool.release(sandbox)
        init = sandbox.init_seconds if cold else 0.0
        seconds = max(0.0, time.monotonic() - started - init)
        error = response.get("error")
        self._cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=alarms.lambda_metrics(function, error is not None, seconds * 1000),
        )
        tail = sandbox.log_tail() if error else []
        return Invocation(
            function, version, response.get("result"), error, request_id, seconds, init, tail
        )

    def spec(self, function: str, version: str) -> FunctionSpec:
        """A version's configuration and unpacked code; both are immutable, so cached."""
        with self._lock:
            cached = self._specs.get((function, version))
        if cached:
            return cached
        config = self._lambda.get_function_configuration(FunctionName=function, Qualifier=version)
        code_dir = self._code(config["CodeSha256"], function, version)
        spec = FunctionSpec(
            name=function,
            version=version,
            handler=config["Handler"],
            timeout=float(config.get("Timeout", 3)),
            memory=int(config.get("MemorySize", 128)),
            code_dir=code_dir,
            layer_dir=self.layer_dir,
            environ=self._environ(config, version, code_dir),
        )
        with self._lock:
            self._specs[(function, version)] = spec
        return spec

    def as_function(self, function: str) -> Target:
        """The target as the function's execution role: what Lambda does with the function's own
        permissions (polling its event source) is signed with them, as on AWS."""
        with self._lock:
            cached = self._roles.get(function)
        if cached:
            return cached
        role = self._lambda.get_function_configuration(FunctionName=function)["Role"]
        found = replace(
            self.target, credentials=self.target.as_function_role(role, function, self.state)
        )
        with self._lock:
            self._roles[function] = found
        return found

    def _arn(self, function: str, qualifier: str) -> str:
        return f"arn:aws:lambda:{self.target.region}:123456789012:function:{function}:{qualifier}"

    def _environ(self, config: dict[str, Any], version: str, code_dir: Path) -> dict[str, str]:
        configured = (config.get("Environment") or {}).get("Variables") or {}
        environ = {key: self._map_hosts(value) for key, value in configured.items()}
        # As Lambda does, the function calls AWS as a session of its own execution role.
        role = self.target.as_function_role(config["Role"], config["FunctionName"], self.state)
        environ.update(role.environ())
        environ.update(
            AWS_ENDPOINT_URL=str(self.target.endpoint),
            AWS_REGION=self.target.region,
            AWS_DEFAULT_REGION=self.target.region,
            AWS_LAMBDA_FUNCTION_NAME=config["FunctionName"],
            AWS_LAMBDA_FUNCTION_VERSION=version,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(config.get("MemorySize", 128)),
            LAMBDA_TASK_ROOT=str(code_dir),
            LANG="en_US.UTF-8",
            PATH="/usr/local/bin:/usr/bin:/bin",
            TZ=":UTC",
        )
        return environ

    def _map_hosts(self, value: str) -> str:
        for real, local in self.hosts.items():
            if value.startswith(real):
                return local + value[len(real) :]
        return value

    def _code(self, code_sha256: str, function: str, version: str) -> Path:
        """Unpack the version's zip once per digest; verify it is exactly the deployed code."""
        digest = base64.b64decode(code_sha256).hex()
        directory = self.root / "code" / digest
        if directory.is_dir():
            return directory
        found = self._ledger.find_code(digest)
        if found is None:
            raise StageFailedError(
                f"{function}:{version} runs code with sha256 {digest[:12]}, which no artifact in "
                f"the {self.env} ledger has; it was not deployed by this pipeline"
            )
        bucket, key = found
        body = self.target.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        if hashlib.sha256(body).hexdigest() != digest:
            raise StageFailedError(
                f"s3://{bucket}/{key} no longer matches {function}:{version}'s CodeSha256; "
                "the bucket was changed after deployment"
            )
        directory.parent.mkdir(parents=True, exist_ok=True)
        unpacked = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".unpack-"))
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            archive.extractall(unpacked)
        try:
            unpacked.rename(directory)
        except OSError:  # another runtime unpacked the same digest first
            shutil.rmtree(unpacked, ignore_errors=True)
        return directory

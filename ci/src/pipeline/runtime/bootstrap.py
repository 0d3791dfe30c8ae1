"""The process a warm Lambda sandbox runs: AWS's bootstrap loop, reduced to what we need.

It is started with `python -I -S`, so neither the repository nor any site-packages is importable:
only the standard library, the function's artifact and the runtime-provided libraries (boto3).
That is what proves an artifact is self-contained. This file imports nothing from `pipeline`.

Requests arrive as JSON lines on stdin; each response is one JSON line on the fd given in argv.
The handler's own output goes to stdout/stderr, which the parent keeps as the function's log,
with Lambda's START, END and REPORT lines around each invocation. The first REPORT carries the
init phase's duration, counted from when the parent started this process, as Lambda's does.
"""

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class Context:
    """The attributes and method of AWS's Python LambdaContext that handlers use."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.invoked_function_arn = request["invoked_arn"]
        self.aws_request_id = request["request_id"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"emulated/{os.getpid()}"
        self._deadline = float(request["deadline"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def error(kind: str, exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": kind,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def load_handler(spec: str) -> Any:
    module_name, _, function_name = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # AWS reports any import-time failure this way
        raise ImportError(f"Unable to import module '{module_name}': {exc}") from exc
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise AttributeError(
            f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


def invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    try:
        result = handler(request["event"], Context(request))
    except Exception as exc:
        return {"error": error(type(exc).__name__, exc)}
    try:
        return {"result": json.loads(json.dumps(result))}
    except (TypeError, ValueError) as exc:
        return {"error": error("Runtime.MarshalError", exc)}


def main() -> None:
    code_dir, layer_dir, handler_spec, response_fd, spawned = sys.argv[1:6]
    sys.path[:0] = [code_dir, layer_dir]
    os.chdir(code_dir)
    responses = os.fdopen(int(response_fd), "w", encoding="utf-8")
    handler: Any = None
    init_error: dict[str, Any] | None = None
    try:
        handler = load_handler(handler_spec)
    except ImportError as exc:
        init_error = error("Runtime.ImportModuleError", exc)
    except AttributeError as exc:
        init_error = error("Runtime.HandlerNotFound", exc)
    except Exception as exc:
        init_error = error(f"Runtime.InitError.{type(exc).__name__}", exc)
    # Both clocks are the system's CLOCK_MONOTONIC, so the difference spans the two processes.
    init_ms = (time.monotonic() - float(spawned)) * 1000
    init_report = f"\tInit Duration: {init_ms:.2f} ms"
    responses.write(
        json.dumps({"ready": True, "init_ms": init_ms}) + "\n"
    )  # the timeout starts now
    responses.flush()
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["request_id"]
        print(f"START RequestId: {request_id}", flush=True)
        started = time.monotonic()
        if init_error is not None:
            response: dict[str, Any] = {"error": init_error}
        else:
            response = invoke(handler, request)
        elapsed = (time.monotonic() - started) * 1000
        print(f"END RequestId: {request_id}", flush=True)
        print(
            f"REPORT RequestId: {request_id}\tDuration: {elapsed:.2f} ms{init_report}", flush=True
        )
        init_report = ""
        sys.stderr.flush()
        responses.write(json.dumps(response) + "\n")
        responses.flush()
        if init_error is not None:
            return  # AWS discards a sandbox whose init failed


if __name__ == "__main__":
    main()

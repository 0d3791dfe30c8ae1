"""Turning AWS client failures into pipeline errors that say what to do next."""

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from pipeline.errors import PipelineError, StageFailedError

UNREACHABLE_HINT = (
    "for an emulated target run `./pipeline emulator status`; the next promote restarts the "
    "emulator and converges. For AWS, check your network and credentials"
)


def translate(exc: BaseException) -> PipelineError | None:
    if isinstance(exc, EndpointConnectionError):
        return StageFailedError(f"the AWS endpoint stopped answering ({exc}); {UNREACHABLE_HINT}")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "an AWS call")
        code, text = error.get("Code", "Error"), error.get("Message", "")
        return StageFailedError(f"AWS refused {operation}: {code} {text}".strip())
    if isinstance(exc, BotoCoreError):
        return StageFailedError(f"AWS client error: {exc}; {UNREACHABLE_HINT}")
    return None

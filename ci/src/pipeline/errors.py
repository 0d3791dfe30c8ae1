"""The pipeline's exceptions. Each maps to one exit code and carries a message that says what
failed, where, and what to do next, so the CLI never needs to show a traceback."""

from typing import Literal


class PipelineError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 1


class StageFailedError(PipelineError):
    """A stage ran and failed (tests red, terraform error, digest mismatch)."""

    exit_code = 1


class UsageError(PipelineError):
    """Bad input: unknown environment, unreadable file, malformed JSON."""

    exit_code = 2


class RefusedError(PipelineError):
    """Refused by the gate or by a precondition (not validated, quarantined, locked)."""

    exit_code = 3


class EmulatorError(StageFailedError):
    """The embedded AWS emulator could not be started or stopped responding."""


Result = Literal["ok", "refused", "failed"]


def result_of(exit_code: int) -> Result:
    """The one mapping from exit code to the result a run record, a stage and --json report."""
    if exit_code == 0:
        return "ok"
    return "refused" if exit_code == RefusedError.exit_code else "failed"

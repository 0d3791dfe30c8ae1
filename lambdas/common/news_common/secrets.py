"""Secrets Manager access with a per-container cache, as a warm Lambda would keep it.

A rotation (`./pipeline rotate-secret`) moves the stage AWSCURRENT to a new value and
AWSPREVIOUS to the old one. Callers read AWSCURRENT; a server that checks presented keys
accepts both stages, so a client holding the old key keeps working until the next rotation."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from news_common import aws
from news_common.logs import register_secret

CACHE_SECONDS = 300.0
CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"
_cache: dict[tuple[str, str], tuple[float, str | None]] = {}


class SecretUnavailableError(RuntimeError):
    """The secret could not be read; the message names the secret, never its value."""


def get_secret(name: str, *, fresh: bool = False) -> str:
    value = _read(name, CURRENT, fresh=fresh)
    assert value is not None  # AWSCURRENT always exists; a missing secret raised
    return value


def accepted_values(name: str, *, fresh: bool = False) -> list[str]:
    """The values a presented key may equal: the current one, and the previous one while a
    rotation has left one."""
    current = get_secret(name, fresh=fresh)
    previous = _read(name, PREVIOUS, fresh=fresh)
    return [current] if previous is None else [current, previous]


def _read(name: str, stage: str, *, fresh: bool) -> str | None:
    cached = _cache.get((name, stage))
    if cached and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    try:
        with _debug_logging_off():
            value = aws.client("secretsmanager").get_secret_value(
                SecretId=name, VersionStage=stage
            )["SecretString"]
    except ClientError as exc:
        missing = exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
        if stage != PREVIOUS or not missing:
            raise SecretUnavailableError(
                f"cannot read secret {name!r}: {type(exc).__name__}"
            ) from None
        value = None  # never rotated: there is no previous value
    except (BotoCoreError, KeyError) as exc:
        raise SecretUnavailableError(f"cannot read secret {name!r}: {type(exc).__name__}") from None
    if value is not None:
        register_secret(value)
    _cache[(name, stage)] = (time.monotonic(), value)
    return value


@contextmanager
def _debug_logging_off() -> Iterator[None]:
    """botocore logs response bodies at DEBUG, before the value can be registered for masking."""
    previous = logging.root.manager.disable
    logging.disable(max(previous, logging.DEBUG))
    try:
        yield
    finally:
        logging.disable(previous)


def clear_cache() -> None:
    _cache.clear()

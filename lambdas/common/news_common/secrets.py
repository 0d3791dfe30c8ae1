"""Secrets Manager access with a per-container cache, as a warm Lambda would keep it."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from news_common import aws
from news_common.logs import register_secret

CACHE_SECONDS = 300.0
_cache: dict[str, tuple[float, str]] = {}


class SecretUnavailableError(RuntimeError):
    """The secret could not be read; the message names the secret, never its value."""


def get_secret(name: str, *, fresh: bool = False) -> str:
    cached = _cache.get(name)
    if cached and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    try:
        with _debug_logging_off():
            value = aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    except (ClientError, BotoCoreError, KeyError) as exc:
        raise SecretUnavailableError(f"cannot read secret {name!r}: {type(exc).__name__}") from None
    register_secret(value)
    _cache[name] = (time.monotonic(), value)
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

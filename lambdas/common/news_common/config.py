"""Reading configuration from the environment, so that no resource name is hard-coded."""

import os


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed."""


def require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is not set; it is set by Terraform")
    return value


def number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a number") from None

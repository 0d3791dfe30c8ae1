"""boto3 clients created once per container, as AWS recommends for warm invocations.

Creating a client costs about 100 ms; a warm Lambda (and the test suite) reuses it."""

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    return boto3.client(service)


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb").Table(name)

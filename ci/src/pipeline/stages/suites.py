"""The repository's own test suites, run by a child pytest (the unit-test and verify stages).

Only the plugins a suite names are loaded: autoloading every installed one (hypothesis alone
imports for 1.7 s) costs about 2.5 s a start, once per suite and traffic step."""

import sys


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


def pytest_environ(base: dict[str, str]) -> dict[str, str]:
    return {**base, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

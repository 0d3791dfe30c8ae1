"""The verify stage's payload: the integration and canary suites of a deployed environment,
which `promote` runs in a child pytest told its target through NEWSFLOW_* variables."""

from collections.abc import Iterator

import pytest

from tests.verify.deployed import App


@pytest.fixture(scope="session")
def app() -> Iterator[App]:
    """The deployed environment the integration and canary suites run against."""
    deployed = App.from_environment()
    yield deployed
    deployed.close()

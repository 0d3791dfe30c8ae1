import pytest

pytestmark = pytest.mark.static

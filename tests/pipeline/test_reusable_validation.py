"""When a preprod re-run may lean on an earlier validation: only when nothing it tested changed."""

import pytest

from pipeline.promotion.first import reusable_validation

pytestmark = pytest.mark.pipeline
DIGESTS = {"analysis": "a" * 64, "dashboard": "d" * 64}
LIVE = {"analysis": "3", "dashboard": "3"}
EARLIER = [
    {"sha": "s", "run_id": "run-2", "digests": {**DIGESTS, "dashboard": "e" * 64}},
    {"sha": "s", "run_id": "run-1", "digests": DIGESTS},
]


def test_an_untouched_environment_reuses_the_validation_of_the_same_bytes() -> None:
    assert reusable_validation(EARLIER, DIGESTS, False, LIVE, dict(LIVE)) == EARLIER[1]


@pytest.mark.parametrize(
    ("validations", "digests", "infra_changed", "previous", "versions"),
    [
        pytest.param(EARLIER, DIGESTS, True, LIVE, LIVE, id="the plan changed something"),
        pytest.param(EARLIER, DIGESTS, False, {**LIVE, "dashboard": "2"}, LIVE,
                     id="live moved to the published versions"),
        pytest.param(EARLIER, DIGESTS, False, {}, {}, id="nothing published"),
        pytest.param(EARLIER, {**DIGESTS, "analysis": "b" * 64}, False, LIVE, LIVE,
                     id="different bytes"),
        pytest.param([], DIGESTS, False, LIVE, LIVE, id="never validated here"),
    ],
)  # fmt: skip
def test_any_change_runs_the_full_suites(
    validations: list[dict], digests: dict, infra_changed: bool, previous: dict, versions: dict
) -> None:
    assert reusable_validation(validations, digests, infra_changed, previous, versions) is None

"""Generated event, commit and metadata files through the gate's real reading path: each one
gives a decision or a UsageError (exit 2) that names the file to fix, never another exception.

The values are shaped like GitHub's payloads at the top and arbitrary JSON underneath, so both
the structure checks and the field readers see junk where they expect a string, a list or an
object."""

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import gate
from pipeline.errors import UsageError
from pipeline.gate import inputs
from tests.conftest import REPO

pytestmark = pytest.mark.robustness
WEEKDAY = "2026-11-18T12:00:00+00:00"

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
login = junk | st.sampled_from(["dependabot[bot]", "octocat"])
user = junk | st.fixed_dictionaries({}, optional={"login": login, "type": junk | st.just("Bot")})
ref = junk | st.fixed_dictionaries({}, optional={"ref": junk | st.just("main"), "sha": junk})
pull_request = st.fixed_dictionaries(
    {},
    optional={
        "number": junk | st.integers(1, 99),
        "user": user,
        "head": ref,
        "base": ref,
        "labels": junk | st.lists(junk | st.fixed_dictionaries({"name": junk}), max_size=3),
    },
)
events = st.fixed_dictionaries(
    {"pull_request": pull_request}, optional={"action": junk, "sender": user, "label": junk}
)
commit = st.fixed_dictionaries(
    {},
    optional={
        "sha": junk,
        "author": user,
        "committer": user,
        "commit": junk
        | st.fixed_dictionaries(
            {},
            optional={
                "message": junk | st.just("bump\n---\nupdated-dependencies: 7\n..."),
                "verification": junk | st.fixed_dictionaries({"verified": junk}),
            },
        ),
    },
)
commit_lists = st.lists(commit, max_size=3)
metadata = st.dictionaries(
    st.sampled_from(["updated-dependencies-json", "update-type", "dependency-names"]),
    junk | st.builds(json.dumps, junk),
    max_size=3,
)


def decide_from(event: Any, commits: Any, meta: Any) -> gate.Decision:
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, value in (("event", event), ("commits", commits), ("metadata", meta)):
            paths[name] = Path(tmp) / f"{name}.json"
            paths[name].write_text(json.dumps(value))
        files = inputs.Files(paths["event"], paths["commits"], paths["metadata"], at=WEEKDAY)
        return inputs.from_files(REPO, files)


def check(event: Any, commits: Any, meta: Any) -> None:
    try:
        decision = decide_from(event, commits, meta)
    except UsageError as exc:
        assert exc.exit_code == 2
        assert any(word in str(exc) for word in ("event", "commits", "metadata")), str(exc)
        return
    assert {decision.for_env(env) for env in ("preprod", "prod")} <= {"auto", "manual", "block"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, commit_lists, metadata)
def test_payloads_with_junk_fields_are_decided_or_refused(
    event: Any, commits: Any, meta: Any
) -> None:
    check(event, commits, meta)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk | events, junk | commit_lists, junk | metadata)
def test_files_of_the_wrong_shape_are_refused(event: Any, commits: Any, meta: Any) -> None:
    check(event, commits, meta)

"""Generated argument lists for the CLI: whatever a person or a script types, `pipeline` ends
with exit 0-3 and a message, never an unexpected exception.

The verbs' work (promotions, Terraform, emulators, test runs) is replaced by stubs that refuse,
so every example exercises parsing and input validation, quickly and without side effects."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.adapters import emulator
from pipeline.cli import commands, suite
from pipeline.errors import RefusedError
from pipeline.promotion import orchestrator, replay, rollback, verbs
from pipeline.reports import history, status
from pipeline.stages import unit_test as unit_tests_module
from tests.conftest import REPO

pytestmark = pytest.mark.robustness
FIX = REPO / "fixtures" / "github"
VERBS = ["test", "unit-test", "bench", "promote", "package", "apply", "verify", "rollback",
         "history", "metrics", "replay", "gate", "status", "emulator", "bogus"]  # fmt: skip
FLAGS = ["--env", "--event", "--commits", "--metadata", "--policy", "--at", "--approve",
         "--unquarantine", "--break-lock", "--to", "--limit", "--json", "--target", "--out",
         "--export", "--quick", "--repeat", "--help-me", "-x"]  # fmt: skip
VALUES = ["preprod", "prod", "staging", "", "aws", "emulated", "start", "stop", "status",
          "alice: ok", "no-colon", "2026-11-20T16:00:00+00:00", "yesterday", "-1", "7",
          str(FIX / "events" / "human.json"), str(FIX / "commits" / "human.json"),
          str(FIX / "events" / "malformed.json"), "/nonexistent/file.json", "abc1234"]  # fmt: skip
TOKENS = st.one_of(st.sampled_from(FLAGS), st.sampled_from(VALUES),
                   st.text(min_size=0, max_size=12))  # fmt: skip
ARGV = st.builds(lambda verb, rest: [verb, *rest], st.sampled_from(VERBS),
                 st.lists(TOKENS, max_size=8))  # fmt: skip


def refuse(*args: object, **kwargs: object) -> None:
    raise RefusedError("stubbed: this property test validates input only")


@pytest.fixture(autouse=True)
def stubbed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for module, name in [(orchestrator, "promote"), (verbs, "package"), (verbs, "apply"),
                         (verbs, "verify_live"), (rollback, "rollback"), (replay, "replay"),
                         (history, "history"), (status, "status"), (suite, "run"),
                         (unit_tests_module, "run"), (emulator, "ensure_running"),
                         (emulator, "stop_background"), (commands.subprocess, "run")]:  # fmt: skip
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setenv("PIPELINE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("PIPELINE_ROOT", str(REPO))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(argv=ARGV)
def test_any_argument_list_ends_in_a_known_exit_code(argv: list[str], stubbed: Path) -> None:
    try:
        code = commands.main(argv)
    except SystemExit as exit_:  # argparse: --help or a usage error
        code = exit_.code if isinstance(exit_.code, int) else 2
    assert code in {0, 1, 2, 3}
    crash = stubbed / "last-error.log"
    assert not crash.exists(), crash.read_text()

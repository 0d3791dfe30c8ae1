"""`./pipeline --help` says what the tool does, lists every verb once under what it is for, and
ends with the README's commands."""

import re
from pathlib import Path

import pytest

from pipeline.cli import commands
from tests.conftest import REPO
from tests.runner import Cli

pytestmark = pytest.mark.pipeline


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(REPO, tmp_path / "state")


def help_text(cli: Cli) -> str:
    done = cli.run("--help", timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_verb_is_listed_once_under_its_group(cli: Cli) -> None:
    text = help_text(cli)
    assert text.startswith("usage: pipeline VERB [options]\n\nPromote newsflow's Lambdas")
    refused = cli.run("no-such-verb", timeout=60).stderr
    verbs = re.findall(r"'([a-z-]+)'", refused.split("choose from", 1)[1])
    listed = re.findall(r"(?m)^  ([a-z-]+) {2,}\S", text)
    assert sorted(listed) == sorted(verbs)
    headings = re.findall(r"(?m)^([a-z ]+):$", text)
    assert headings == ["options", *commands.GROUPS, "examples"]


def test_the_quick_start_commands_are_the_examples(cli: Cli) -> None:
    readme = (REPO / "README.md").read_text()
    quick = readme[readme.index("## Quick start") :]
    quick = quick[quick.index("```bash") + 7 : quick.index("```", quick.index("```bash") + 7)]
    examples = help_text(cli).split("examples:\n", 1)[1]
    for command in filter(None, quick.splitlines()):
        assert f"  {command}" in examples, command


def test_a_verb_missing_from_the_groups_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(commands.GROUPS, "develop", ["test", "unit-test", "bench"])
    with pytest.raises(AssertionError, match="exactly one group"):
        commands.build_parser()

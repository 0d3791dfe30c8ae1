"""The bad-input corpus: every CLI verb, given malformed flags, files, shas, environments and
state, answers with a clear message and exit 2 or 3, never a traceback. The Dagger functions
run these same CLI calls (their env arguments are enums, so Dagger itself rejects unknown
environments before the CLI sees them)."""

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.cli import commands
from tests.conftest import REPO
from tests.runner import Cli

pytestmark = pytest.mark.robustness
FIX = REPO / "fixtures" / "github"
GOOD_EVENT = str(FIX / "events" / "human.json")
VERBS_WITH_ENV = ("promote", "apply", "verify", "rollback", "history")
# The least each verb needs, so that a bad flag is what gets reported.
REQUIRED = {
    **{verb: ["--env", "preprod"] for verb in VERBS_WITH_ENV},
    "gate": ["--event", GOOD_EVENT],
    "replay": ["run.json"],
    "emulator": ["status"],
    "rotate-secret": ["--env", "preprod", "dashboard"],
}
Setup = Callable[[Path], list[str]]


def write(name: str, content: bytes | str) -> Setup:
    def make(tmp: Path) -> list[str]:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return [str(path)]

    return make


def unreadable(tmp: Path) -> list[str]:
    """A path no one can open, root included: its parent is a regular file."""
    (tmp / "plain").write_text("{}")
    return [str(tmp / "plain" / "event.json")]


def directory(tmp: Path) -> list[str]:
    return [str(tmp)]


BAD_JSON = {
    "malformed": write("bad.json", '{"pull_request": {'),
    "truncated": write("cut.json", (FIX / "events" / "human.json").read_text()[:200]),
    "binary": write("bin.json", b"\x00\xff\xfe garbage \x89PNG"),
    "empty": write("empty.json", ""),
    "missing": lambda tmp: [str(tmp / "nope.json")],
    "unreadable": unreadable,
    "a directory": directory,
}
WRONG_TYPED_EVENTS = {
    "array": write("array.json", "[1, 2]"),
    "string": write("string.json", '"pull_request"'),
    "number": write("number.json", "42"),
    "no pull_request": write("push.json", '{"ref": "refs/heads/main"}'),
    "pull_request is a list": write("list.json", '{"pull_request": []}'),
}
RUN_RECORDS: dict[str, tuple[Setup, str]] = {
    "not a run record": (write("run.json", '{"hello": "world"}'), "not a pipeline run record"),
    "another command": (write("run.json", json.dumps({"schema": "newsflow.run/1",
                                                      "command": "rollback", "inputs": {}})),
                        "only promotions replay"),
    "no stages": (write("run.json", json.dumps({"schema": "newsflow.run/1", "command": "promote",
                                               "inputs": {"env": "preprod", "sha": "a" * 40}})),
                  "no stages list"),
    "unknown sha": (write("run.json", json.dumps({"schema": "newsflow.run/1",
                                                  "command": "promote", "stages": [],
                                                  "inputs": {"env": "preprod", "sha": "f" * 40}})),
                    "is not in this clone"),
    "dirty sha": (write("run.json", json.dumps({
        "schema": "newsflow.run/1", "command": "promote", "stages": [],
        "inputs": {"env": "preprod", "sha": "b" * 40 + "-dirty"}})), "uncommitted changes"),
}  # fmt: skip


def cases() -> list[tuple[str, list[str], Setup | None, int, str]]:
    """(id, args with {file} placeholders, file setup, exit code, message fragment)."""
    corpus: list[tuple[str, list[str], Setup | None, int, str]] = [
        ("no verb", [], None, 2, "required: verb"),
        ("unknown verb", ["frobnicate"], None, 2, "invalid choice"),
        ("unknown global flag", ["--nope"], None, 2, "required: verb"),
    ]
    for verb in sorted(cli_verbs()):
        corpus.append((f"{verb}: unknown flag", [verb, *REQUIRED.get(verb, []), "--bogus-flag"],
                       None, 2, "unrecognized arguments"))  # fmt: skip
    for verb in ("promote", "apply", "verify", "rollback", "history", "gate", "replay"):
        corpus.append((f"{verb}: missing required", [verb], None, 2, "required"))
    for verb in VERBS_WITH_ENV:
        for env in ("staging", "PROD", "../prod", "prod; rm -rf /", ""):
            corpus.append((f"{verb}: env {env!r}", [verb, "--env", env], None, 2,
                           "unknown environment"))  # fmt: skip
    corpus.append(("metrics: unknown env", ["metrics", "--env", "qa"], None, 2,
                   "unknown environment 'qa'"))  # fmt: skip
    for name, setup in {**BAD_JSON, **WRONG_TYPED_EVENTS}.items():
        for prefix in (["gate"], ["promote", "--env", "preprod"]):
            corpus.append((f"{prefix[0]}: event {name}", [*prefix, "--event", "{file}"], setup, 2,
                           "event"))  # fmt: skip
    for name, setup in BAD_JSON.items():
        corpus.append((f"gate: commits {name}", ["gate", "--event", GOOD_EVENT, "--commits",
                                                 "{file}"], setup, 2, "commits"))  # fmt: skip
        corpus.append((f"gate: metadata {name}", ["gate", "--event", GOOD_EVENT, "--metadata",
                                                  "{file}"], setup, 2, "metadata"))  # fmt: skip
        corpus.append((f"replay: record {name}", ["replay", "{file}"], setup, 2, "run"))
    corpus += [
        ("gate: commits an object", ["gate", "--event", GOOD_EVENT, "--commits", "{file}"],
         write("c.json", '{"sha": "x"}'), 2, "JSON array"),
        ("gate: commits of strings", ["gate", "--event", GOOD_EVENT, "--commits", "{file}"],
         write("c.json", '["abc"]'), 2, "JSON object"),
        ("gate: metadata an array", ["gate", "--event", GOOD_EVENT, "--metadata", "{file}"],
         write("m.json", "[]"), 2, "JSON object"),
        ("gate: policy malformed", ["gate", "--event", GOOD_EVENT, "--policy", "{file}"],
         write("p.yaml", "version: [unclosed"), 2, "policy"),
        ("gate: policy incomplete", ["gate", "--event", GOOD_EVENT, "--policy", "{file}"],
         write("p.yaml", "version: 1\n"), 2, "policy"),
        ("gate: --at not a time", ["gate", "--event", GOOD_EVENT, "--at", "yesterday"], None, 2,
         "is not an ISO time"),
        ("gate: --at without zone", ["gate", "--event", GOOD_EVENT, "--at", "2026-11-18T12:00"],
         None, 2, "no time zone"),
        ("promote: approval without reason", ["promote", "--env", "preprod", "--approve", "bob"],
         None, 2, '"NAME: REASON"'),
        ("promote: unquarantine without reason",
         ["promote", "--env", "prod", "--unquarantine", ": why"], None, 2, '"NAME: REASON"'),
        ("promote: unknown target", ["promote", "--env", "preprod", "--target", "gcp"], None, 2,
         "invalid choice"),
        ("history: limit not a number", ["history", "--env", "prod", "--limit", "ten"], None, 2,
         "invalid int"),
        ("rollback: nothing deployed", ["rollback", "--env", "prod", "--to", "0" * 40], None, 3,
         "nothing to roll back"),
        ("history: nothing deployed", ["history", "--env", "prod"], None, 3,
         "emulator is not running"),
        ("verify: nothing deployed", ["verify", "--env", "preprod"], None, 3,
         "nothing is deployed"),
        ("rotate-secret: missing required", ["rotate-secret"], None, 2, "required"),
        ("rotate-secret: unknown env", ["rotate-secret", "--env", "staging", "dashboard"], None,
         2, "unknown environment"),
        ("rotate-secret: the NewsAPI key", ["rotate-secret", "--env", "prod", "newsapi"], None,
         2, "the NewsAPI key comes from NewsAPI"),
        ("rotate-secret: unknown key", ["rotate-secret", "--env", "prod", "database"], None, 2,
         "'database' is not a key this pipeline generates"),
        ("rotate-secret: nothing deployed", ["rotate-secret", "--env", "preprod", "dashboard"],
         None, 3, "emulator is not running"),
        ("--emulator-endpoint: not a URL", ["--emulator-endpoint", "localhost", "status"], None,
         2, "is not an emulator's base URL"),
        ("--emulator-endpoint: a path", ["--emulator-endpoint", "http://127.0.0.1:5000/x",
                                         "status"], None, 2, "http://127.0.0.1:5000 (moto)"),
        ("--emulator-endpoint: nothing answers",
         ["--emulator-endpoint", "http://127.0.0.1:9", "history", "--env", "prod"], None, 1,
         "no emulator answers at http://127.0.0.1:9"),
    ]  # fmt: skip
    for name, (setup, expected) in RUN_RECORDS.items():
        code = 3 if name == "dirty sha" else 2
        corpus.append((f"replay: {name}", ["replay", "{file}"], setup, code, expected))
    return corpus


def cli_verbs() -> set[str]:
    parser = commands.build_parser()
    [verbs] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(verbs.choices) - {"test"}  # `test` forwards unknown flags to pytest


CASES = cases()


def test_the_corpus_covers_every_verb() -> None:
    touched = {args[0] for _, args, _, _, _ in CASES if args}
    assert cli_verbs() <= touched
    assert len(CASES) >= 100


@pytest.mark.parametrize(("args", "setup", "code", "fragment"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_input_is_refused_clearly(
    args: list[str], setup: Setup | None, code: int, fragment: str, tmp_path: Path
) -> None:
    files = setup(tmp_path) if setup else []
    argv = [files[0] if a == "{file}" else a for a in args]
    state = tmp_path / "state"
    done = Cli(REPO, state).run(*argv, timeout=120)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert fragment.lower() in done.stderr.lower(), done.stderr
    assert not (state / "last-error.log").exists(), "an unexpected exception, not a clear error"
    assert not (state / "emulator.json").exists(), "bad input must not start an emulator"


def test_corrupted_state_is_survived(tmp_path: Path) -> None:
    """A garbage emulator record, run record and artifact cache: status still answers."""
    state = tmp_path / "state"
    (state / "runs" / "x").mkdir(parents=True)
    (state / "emulator.json").write_text("{not json")
    (state / "runs" / "x" / "run.json").write_text("\x00\x01")
    (state / "cache" / "zips").mkdir(parents=True)
    (state / "cache" / "zips" / "garbage.zip").write_bytes(b"PK\x03\x04 broken")
    done = Cli(REPO, state).run("status", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    rows = json.loads(done.stdout)["environments"]
    assert {row["state"] for row in rows} == {"emulator not running: nothing deployed"}

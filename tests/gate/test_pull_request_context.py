"""The CI context script and the gate together: a merge's event is rebuilt from GitHub's API by
`.github/scripts/pull-request-context.sh`, and the gate decides from what it wrote. GitHub is a
stand-in `gh` that answers each API path with a recorded response, filtered by the script's own
--jq expression through jq, as gh does."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline.gate import inputs
from tests.conftest import REPO

pytestmark = pytest.mark.pipeline
FIX = REPO / "fixtures" / "github"
SCRIPT = REPO / ".github" / "scripts" / "pull-request-context.sh"
WEEKEND = "2026-11-21T12:00:00+00:00"  # inside the prod freeze
SHA = "5f1d0c3a9b8e7d6c5b4a39281706f5e4d3c2b1a0"
GH = """#!/usr/bin/env bash
# gh api [--paginate] PATH --jq FILTER, answered from $RESPONSES/<PATH with / as _>.json
args=("$@"); path=""; filter="."
for ((i = 1; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --paginate) ;;
    --jq) filter="${args[i + 1]}"; i=$((i + 1)) ;;
    *) path="${args[i]}" ;;
  esac
done
exec jq -r "$filter" "$RESPONSES/${path//\\//_}.json"
"""


def context(
    tmp_path: Path, label_events: list[dict[str, Any]], base: str = "main"
) -> subprocess.CompletedProcess:
    """Run the script for a merged emergency PR whose issue events are `label_events`."""
    pr = json.loads((FIX / "events" / "emergency_labeled_by_oncall.json").read_text())
    pull = {**pr["pull_request"], "merged_at": "2026-11-21T11:58:00Z"}
    pull["base"] = {**pull["base"], "ref": base}
    number = pull["number"]
    responses = tmp_path / "responses"
    responses.mkdir()
    recorded = {
        f"repos/o/r/commits/{SHA}/pulls": [pull],
        f"repos/o/r/pulls/{number}": pull,
        f"repos/o/r/pulls/{number}/commits": json.loads((FIX / "commits" / "human.json")
                                                        .read_text()),
        f"repos/o/r/issues/{number}/events": [{"event": "assigned", "actor": {"login": "x"}},
                                              *label_events],
    }  # fmt: skip
    for path, body in recorded.items():
        (responses / f"{path.replace('/', '_')}.json").write_text(json.dumps(body))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(GH)
    (bin_dir / "gh").chmod(0o755)
    return subprocess.run(
        [str(SCRIPT), "gate-inputs"], capture_output=True, text=True, check=False, cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "RESPONSES": str(responses), "GH_TOKEN": "t",
             "REPO": "o/r", "SHA": SHA},
    )  # fmt: skip


def labeled(name: str, login: str) -> dict[str, Any]:
    return {"event": "labeled", "label": {"name": name}, "actor": {"login": login}}


def decide(tmp_path: Path) -> Any:
    out = tmp_path / "gate-inputs"
    return inputs.from_files(
        REPO, inputs.Files(out / "event.json", out / "commits.json", None, at=WEEKEND)
    )


def test_an_emergency_label_from_on_call_survives_the_merge(tmp_path: Path) -> None:
    done = context(tmp_path, [labeled("bug", "octocat"), labeled("emergency", "newsflow-oncall")])
    assert done.returncode == 0, done.stderr
    event = json.loads((tmp_path / "gate-inputs" / "event.json").read_text())
    assert event["action"] == "closed" and "sender" not in event
    assert event["labeled_by"] == {"bug": "octocat", "emergency": "newsflow-oncall"}
    result = decide(tmp_path)
    assert (result.levels["prod"], result.emergency) == ("manual", True)
    assert any("label 'emergency' added by newsflow-oncall" in r for r in result.reasons)


def test_the_last_labeling_counts_and_only_an_allowed_user_s(tmp_path: Path) -> None:
    # On-call added it once; the author removed it and added it back, so it is the author's.
    done = context(tmp_path, [labeled("emergency", "newsflow-oncall"),
                              labeled("emergency", "octocat")])  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = decide(tmp_path)
    assert (result.levels["prod"], result.emergency) == ("block", False)


def test_a_commit_merged_into_another_branch_is_not_promoted(tmp_path: Path) -> None:
    done = context(tmp_path, [labeled("emergency", "newsflow-oncall")], base="release")
    assert done.returncode == 1
    assert f"no pull request merged to main found for {SHA}" in done.stderr
    assert not (tmp_path / "gate-inputs" / "event.json").exists()

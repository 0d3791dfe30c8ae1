#!/usr/bin/env bash
# Writes the gate's inputs for the pull request merged as $SHA: event.json (the PR in a
# pull_request event's shape) and commits.json (the PR's commits). Needs GH_TOKEN, REPO, SHA.
# Every value arrives through the environment; nothing from the event is interpolated into code.
set -euo pipefail
out="${1:-.}"
mkdir -p "$out"
number="$(gh api "repos/$REPO/commits/$SHA/pulls" --jq '[.[] | select(.merged_at != null and .base.ref == "main")][0].number // empty')"
if [ -z "$number" ]; then
  echo "::error::no pull request merged to main found for $SHA: only reviewed pull requests are promoted" >&2
  exit 1
fi
# Who last added each label: a merge's event has no `labeled` sender, and the gate honours an
# emergency label only from the people its policy allows.
gh api --paginate "repos/$REPO/issues/$number/events" --jq '.[] | select(.event == "labeled")' \
  | jq -s 'map({key: .label.name, value: .actor.login}) | from_entries' > "$out/labeled-by.json"
gh api "repos/$REPO/pulls/$number" --jq '{action: "closed", number: .number, pull_request: .}' \
  | jq --slurpfile by "$out/labeled-by.json" '. + {labeled_by: $by[0]}' > "$out/event.json"
rm "$out/labeled-by.json"
gh api --paginate "repos/$REPO/pulls/$number/commits" --jq '.[]' | jq -s '.' > "$out/commits.json"
echo "pull request #$number"

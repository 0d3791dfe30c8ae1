#!/usr/bin/env bash
# Writes the gate's inputs for the pull request merged as $SHA: event.json (the PR in a
# pull_request event's shape) and commits.json (the PR's commits). Needs GH_TOKEN, REPO, SHA.
# Every value arrives through the environment; nothing from the event is interpolated into code.
set -euo pipefail
out="${1:-.}"
mkdir -p "$out"
number="$(gh api "repos/$REPO/commits/$SHA/pulls" --jq '[.[] | select(.merged_at != null)][0].number // empty')"
if [ -z "$number" ]; then
  echo "::error::no merged pull request found for $SHA: only reviewed pull requests are promoted" >&2
  exit 1
fi
gh api "repos/$REPO/pulls/$number" --jq '{action: "closed", number: .number, pull_request: .}' > "$out/event.json"
gh api --paginate "repos/$REPO/pulls/$number/commits" --jq '.[]' | jq -s '.' > "$out/commits.json"
echo "pull request #$number"

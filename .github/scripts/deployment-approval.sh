#!/usr/bin/env bash
# Writes approval.txt: "LOGIN: COMMENT" of the required reviewer who approved this run's
# deployment, for the ledger; empty when nobody had to. A `manual` decision with no approval on
# record refuses (exit 3), which GitHub's environment rule should already have made impossible.
# Needs GH_TOKEN, REPO, RUN_ID, DECISION (the gate's level for this job's environment) and ENV.
set -euo pipefail
approval="$(gh api "repos/$REPO/actions/runs/$RUN_ID/approvals" \
  --jq '[.[] | select(.state == "approved")] | last | select(.) | "\(.user.login): \(.comment // "approved the deployment")"')"
if [ "$DECISION" = manual ] && [ -z "$approval" ]; then
  echo "the gate requires an approval for $ENV, and none is recorded for this run" >&2
  exit 3
fi
printf '%s' "$approval" > approval.txt

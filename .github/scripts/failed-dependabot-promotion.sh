#!/usr/bin/env bash
# An auto-merged Dependabot change that preprod refused sits on main with no person watching it:
# say so on its pull request, label it, and open the revert as a pull request of its own (which
# goes through `dagger check` and the gate like any other). Run from a checkout of main with
# history. Needs GH_TOKEN (an App token, so that the revert PR's own workflows run), REPO, PR,
# SHA and RUN_URL; every value arrives through the environment.
set -euo pipefail
branch="revert-${SHA:0:12}"
gh pr comment "$PR" --repo "$REPO" --body "Preprod refused this update after it was merged ($SHA, $RUN_URL). Prod will not take it. The revert is offered in a pull request from \`$branch\`."
# --add-label refuses a label the repository does not have yet; --force makes this idempotent.
gh label create promotion-failed --repo "$REPO" --force --color B60205 \
  --description "Merged, then refused by a promotion"
gh pr edit "$PR" --repo "$REPO" --add-label promotion-failed
gh auth setup-git
git -c user.name="newsflow-pipeline" -c user.email="newsflow-pipeline@users.noreply.github.com" \
  revert --no-edit "$SHA"
git push origin "HEAD:refs/heads/$branch"
gh pr create --repo "$REPO" --base main --head "$branch" \
  --title "Revert #$PR: preprod refused it" \
  --body "Reverts $SHA (#$PR), which preprod refused: $RUN_URL. Merge this to put main back where preprod last passed, or close it and push a fix."
echo "commented on #$PR, labelled it promotion-failed, and opened the revert from $branch"

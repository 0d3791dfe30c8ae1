"""Reading a pull request's commits from GitHub's REST API, when CI did not pass a file."""

import os
from typing import Any

import requests

from pipeline.errors import UsageError

PAGE = 100
MAX_PAGES = 30  # GitHub lists at most 250 commits per pull request


def fetch_commits(number: int) -> list[dict[str, Any]] | None:
    """The PR's commits, or None when no token and repository are available (offline)."""
    token, repository = os.environ.get("GITHUB_TOKEN"), os.environ.get("GITHUB_REPOSITORY")
    if not token or not repository:
        return None
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    commits: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        try:
            response = requests.get(
                f"{api}/repos/{repository}/pulls/{number}/commits",
                params={"per_page": PAGE, "page": page},
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/vnd.github+json",
                },
                timeout=15,
            )
        except requests.RequestException as exc:
            raise UsageError(
                f"cannot list the commits of PR #{number}: {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise UsageError(
                f"GitHub answered {response.status_code} listing the commits of PR #{number}"
            )
        batch = response.json()
        commits += batch
        if len(batch) < PAGE:
            break
    return commits

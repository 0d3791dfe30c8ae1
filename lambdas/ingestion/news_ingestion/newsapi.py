"""A small NewsAPI client: timeout, bounded retries on 5xx, typed errors for the rest."""

import time
from typing import Any

import requests

from news_common.logs import get_logger

log = get_logger(__name__)


class NewsApiError(RuntimeError):
    """NewsAPI answered with an error the caller must not retry blindly."""

    code = "unknown"


class RateLimitedError(NewsApiError):
    """NewsAPI says `rateLimited`: back off until the next schedule instead of retrying now."""

    code = "rateLimited"


class ApiKeyInvalidError(NewsApiError):
    """NewsAPI rejects the key: rotate the NewsAPI secret of this environment."""

    code = "apiKeyInvalid"


class UpstreamUnavailableError(NewsApiError):
    """5xx, timeouts or connection failures persisted through every retry."""

    code = "upstreamUnavailable"


_TYPED = {cls.code: cls for cls in (RateLimitedError, ApiKeyInvalidError)}


def fetch_articles(
    base_url: str,
    path: str,
    params: dict[str, str],
    api_key: str,
    *,
    timeout: float,
    max_retries: int,
    backoff: float,
) -> list[dict[str, Any]]:
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    for attempt in range(max_retries + 1):
        try:
            response = requests.get(
                url, params=params, headers={"X-Api-Key": api_key}, timeout=timeout
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            failure = f"{type(exc).__name__} calling {url}"
        else:
            if response.status_code < 500:
                return _parse(response)
            failure = f"HTTP {response.status_code} from {url}"
        if attempt < max_retries:
            delay = backoff * 2**attempt
            log.warning(
                "newsapi attempt %d failed (%s); retrying in %.2fs", attempt + 1, failure, delay
            )
            time.sleep(delay)
    raise UpstreamUnavailableError(
        f"NewsAPI unavailable after {max_retries + 1} attempts: {failure}"
    )


def _parse(response: requests.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        raise NewsApiError(f"NewsAPI returned HTTP {response.status_code} without JSON") from None
    if not isinstance(body, dict):
        raise NewsApiError("NewsAPI returned a JSON document that is not an object")
    if body.get("status") == "error" or response.status_code >= 400:
        code = str(body.get("code", "unknown"))
        message = str(body.get("message", ""))
        raise _TYPED.get(code, NewsApiError)(
            f"NewsAPI error {code} (HTTP {response.status_code}): {message}"
        )
    articles = body.get("articles")
    if not isinstance(articles, list):
        raise NewsApiError("NewsAPI response has no 'articles' list")
    return articles

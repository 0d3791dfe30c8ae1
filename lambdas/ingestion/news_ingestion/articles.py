"""Normalising NewsAPI articles into items: stable ids, and rejecting unusable entries."""

import hashlib
from typing import Any

REMOVED = "[Removed]"


def article_id(url: str) -> str:
    """The URL identifies a story, so the same story fetched twice gets the same id."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def normalise(article: Any) -> dict[str, str] | None:
    """Return the item for a usable article, or None for one to skip."""
    if not isinstance(article, dict):
        return None
    title = _text(article.get("title"))
    url = _text(article.get("url"))
    if not title or not url or title == REMOVED:
        return None
    source = article.get("source")
    source_name = _text(source.get("name")) if isinstance(source, dict) else ""
    if source_name == REMOVED:
        return None
    item = {
        "id": article_id(url),
        "url": url,
        "title": title,
        "description": _text(article.get("description")),
        "source": source_name,
        "author": _text(article.get("author")),
        "published_at": _text(article.get("publishedAt")) or "1970-01-01T00:00:00Z",
    }
    return {key: value for key, value in item.items() if value}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""

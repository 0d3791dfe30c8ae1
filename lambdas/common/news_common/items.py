"""The items table's schema in one place: key, statuses and the listing index."""

ID = "id"
STATUS = "status"
PUBLISHED_AT = "published_at"
PENDING = "pending"
ANALYZED = "analyzed"
STATUS_INDEX = "by-status-published"
SENTIMENTS = ("positive", "neutral", "negative")

"""Analysis Lambda: scores each queued item's sentiment with VADER."""

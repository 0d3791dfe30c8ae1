"""Dashboard Lambda: a Function URL (payload format 2.0) serving health, items and stats."""

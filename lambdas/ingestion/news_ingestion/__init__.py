"""Ingestion Lambda: fetches headlines from NewsAPI and queues new items for analysis."""

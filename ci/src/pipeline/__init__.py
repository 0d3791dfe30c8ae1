"""Promotion pipeline for the news-sentiment application."""

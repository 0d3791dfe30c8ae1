"""Canary Lambda: probes the dashboard's /health and alerts when it is unhealthy or slow."""

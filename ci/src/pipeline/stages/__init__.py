"""The steps of a promotion, one module each: unit tests, packaging, upload, deploy, traffic,
verify. Each does one thing to one environment; the promotion package decides the order."""

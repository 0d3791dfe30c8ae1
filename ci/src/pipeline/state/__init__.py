"""What the pipeline knows and keeps: the project's settings, the source commit, content
hashes, each environment's ledger and each run's record."""

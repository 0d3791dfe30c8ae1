"""Read-only views of the ledgers: status, history, DORA metrics."""

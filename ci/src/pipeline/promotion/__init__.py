"""A promotion run: the orchestrator, the first environment (which builds) and the ones that
follow it (which copy what their predecessor validated), rollback, replay, and the recorded-run
helper every command shares."""

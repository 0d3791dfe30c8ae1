"""The access proof's figures, printed on one line at the end of the session."""

from pathlib import Path

import pytest

SUMMARY_FILE = "access-proof.txt"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    factory = getattr(terminalreporter.config, "_tmp_path_factory", None)
    if factory is None:
        return
    for found in sorted(Path(factory.getbasetemp()).rglob(SUMMARY_FILE)):
        terminalreporter.write_line(f"access proof: {found.read_text().strip()}")

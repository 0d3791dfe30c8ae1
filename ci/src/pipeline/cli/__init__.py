"""The command line: parsing, the verbs, console output. Nothing else imports it."""

from pipeline.cli.commands import main

__all__ = ["main"]

"""Terraform as the pipeline drives it: a workspace per environment, its S3 backend, the state
lock, and the plan's emulator-only differences."""

from pipeline.adapters.terraform.workspace import (
    Workspace,
    binary,
    find_mirror,
    lost_creates,
    write_cli_config,
)

__all__ = ["Workspace", "binary", "find_mirror", "lost_creates", "write_cli_config"]

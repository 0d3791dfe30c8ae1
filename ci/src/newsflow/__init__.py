"""The newsflow Dagger module: the pipeline's steps in pinned containers."""

from newsflow.main import EmulatorKind, Newsflow

__all__ = ["EmulatorKind", "Newsflow"]

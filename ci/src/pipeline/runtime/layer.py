"""The libraries AWS's Python runtime provides to every function: boto3 and its dependencies.

Artifacts do not ship boto3 (the runtime has it), so the emulated sandbox must provide it too,
and nothing else. The layer is a directory of links to this interpreter's installed copies."""

import importlib.util
from pathlib import Path

# boto3 and everything it imports, as AWS's python runtimes bundle them.
PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def build(directory: Path) -> Path:
    """Create (or refresh) the layer directory; idempotent and safe to share between runs."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in PROVIDED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed; run `uv sync` to restore the venv")
        origin = Path(spec.origin)
        source = origin.parent if spec.submodule_search_locations else origin
        link = directory / source.name
        if link.is_symlink() and link.resolve() == source.resolve():
            continue
        tmp = directory / f".{source.name}.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(source)
        tmp.replace(link)
    return directory

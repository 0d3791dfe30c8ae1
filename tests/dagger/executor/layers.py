"""Container filesystems as the engine keeps them: a stack of layer directories that are never
changed once made. An exec sees them merged by overlayfs with a new, empty layer on top that
takes its writes; a read sees them merged read-only. So a step that rewrites a file copies it
up, as in a real container, and the layers below keep their files, timestamps and all."""

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path


@contextlib.contextmanager
def merged(layers: Sequence[Path], at: Path, upper: Path | None = None) -> Iterator[Path]:
    """The layers (lowest first) mounted at `at`; writable into `upper` when it is given."""
    at.mkdir(parents=True, exist_ok=True)
    lower = ":".join(str(layer) for layer in reversed(layers))  # overlayfs lists the top first
    options = f"lowerdir={lower}"
    if upper is not None:
        work = upper.with_name(upper.name + ".work")
        work.mkdir(exist_ok=True)
        options += f",upperdir={upper},workdir={work}"
    else:
        options = "ro," + options
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(at)], check=True)
    try:
        yield at
    finally:
        if subprocess.run(["umount", str(at)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(at)], check=True)

"""Atomic file writes: the one implementation every writer in the library uses.

A file is written under a temporary name in its destination folder and moved into place with
``os.replace`` only when writing succeeded, so an interrupted run never leaves a half-written file
under the final name (re-runs can then trust any file that exists).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path next to ``path``; on success move it to ``path``, else delete it.
    The file gets the usual permissions (``mkstemp`` would leave it 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path, write_fn) -> Path:
    """Call ``write_fn(tmp_path)`` and move the result to ``path`` in one rename."""
    with atomic_path(path) as tmp:
        write_fn(tmp)
    return Path(path)

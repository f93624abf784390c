"""Small file helpers shared by tables and results."""

from __future__ import annotations

import os
import tempfile

import numpy as np


def atomic_savez(path: str, arrays: dict) -> str:
    """Write ``arrays`` to ``path`` as a compressed ``.npz``, atomically (temp file, fsync,
    rename), with the usual file mode. Nothing is left behind on failure. Returns path."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path

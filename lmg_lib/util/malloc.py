"""Keep glibc from handing large tensor buffers back to the kernel after every training step.

A CPU training step allocates and frees activations of tens of MB. glibc serves blocks above its
mmap threshold with fresh ``mmap`` calls and trims the heap top eagerly, so every step pays page
faults to zero the same memory again: on the 2-core machine of docs/PERFORMANCE.md a ``cpu``-preset
step spent ~40-60 % of its CPU time in the kernel (2.8 s/step) and ~3 % with the settings below
(2.4 s/step), the same run started twice. ``mallopt`` is the runtime form of the environment
variables ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_TOP_PAD_``; a no-op
where the C library is not glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 4 << 30,
                      top_pad: int = 1 << 30) -> bool:
    """Raise glibc's mmap threshold to its maximum (32 MiB), keep up to ``trim_threshold`` bytes of
    freed heap and grow the heap ``top_pad`` bytes at a time. Returns False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = [mallopt(M_MMAP_THRESHOLD, mmap_threshold), mallopt(M_TRIM_THRESHOLD, min(trim_threshold, 2**31 - 1)),
          mallopt(M_TOP_PAD, min(top_pad, 2**31 - 1))]
    return all(v == 1 for v in ok)

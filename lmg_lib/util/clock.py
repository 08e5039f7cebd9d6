"""The compute a run has spent: CPU and wall seconds of this process, carried over resumes."""
from __future__ import annotations

import time


class RunClock:
    """``clock()`` -> {"cpu_s", "wall_s"} since the run started, over every resume (``state()``
    goes into the checkpoint, ``load(state)`` restores it). CPU time counts every thread."""

    def __init__(self):
        self.load(None)

    def load(self, state: dict | None) -> None:
        self._base = dict(state or {"cpu_s": 0.0, "wall_s": 0.0})
        self._mark = (time.process_time(), time.time())

    def __call__(self) -> dict:
        return {"cpu_s": round(self._base["cpu_s"] + time.process_time() - self._mark[0], 1),
                "wall_s": round(self._base["wall_s"] + time.time() - self._mark[1], 1)}

    state = __call__

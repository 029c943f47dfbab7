"""Progress lines for long series of runs, with an estimate of the time left."""
from __future__ import annotations

import threading
import time
from typing import Callable


class Progress:
    """``[tag] k/N: what, about M min left``; the estimate is the mean time of the runs that actually
    ran in this session (runs read back from an earlier session take no time and are left out),
    divided by the number of runs that go side by side.

    Args:
        total: the number of runs in the series.
        log: where the lines go (a print-like function).
        tag: the prefix in brackets.
        parallel: how many runs go at once (the estimate divides by it).
    """

    def __init__(self, total: int, log: Callable[[str], None], tag: str, parallel: int = 1):
        self.total, self.log, self.tag, self.parallel = total, log, tag, parallel
        self.done, self.started, self.walls = 0, 0, []
        self.lock = threading.Lock()

    def start(self, what: str) -> float:
        """Announce the next run; returns its start time for :meth:`finish`."""
        with self.lock:
            self.started += 1
            left = self.total - self.done
            eta = (f", about {left * sum(self.walls) / len(self.walls) / self.parallel / 60:.0f} min left"
                   if self.walls else "")
            self.log(f"[{self.tag}] {self.started}/{self.total}: {what}{eta}")
        return time.time()

    def finish(self, started: float, ran: bool) -> None:
        """Count the run; ``ran`` False: it was read back, not run."""
        with self.lock:
            self.done += 1
            if ran:
                self.walls.append(time.time() - started)

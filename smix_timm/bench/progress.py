"""Progress lines for long series of runs, with an estimate of the time left."""
from __future__ import annotations

import time
from typing import Callable


class Progress:
    """``[tag] k/N: what, about M min left``; the estimate is the mean time of the runs that actually
    ran in this session (runs read back from an earlier session take no time and are left out).

    Args:
        total: the number of runs in the series.
        log: where the lines go (a print-like function).
        tag: the prefix in brackets.
    """

    def __init__(self, total: int, log: Callable[[str], None], tag: str):
        self.total, self.log, self.tag = total, log, tag
        self.done, self.walls = 0, []

    def start(self, what: str) -> float:
        """Announce the next run; returns its start time for :meth:`finish`."""
        left = self.total - self.done
        eta = f", about {left * sum(self.walls) / len(self.walls) / 60:.0f} min left" if self.walls else ""
        self.log(f"[{self.tag}] {self.done + 1}/{self.total}: {what}{eta}")
        return time.time()

    def finish(self, started: float, ran: bool) -> None:
        """Count the run; ``ran`` False: it was read back, not run."""
        self.done += 1
        if ran:
            self.walls.append(time.time() - started)

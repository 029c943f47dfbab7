"""Progress lines for long series of runs, with an estimate of the time left."""
from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Union


class Progress:
    """``[tag] k/N: what, about M min left``. The estimate sums, over the kinds of run, the runs of
    that kind not finished yet times the mean time of its runs that actually ran in this session
    (runs read back from an earlier session take no time and are left out; a kind with none yet
    counts at the mean of all), divided by the number of runs that go side by side.

    Args:
        totals: the number of runs in the series, or per kind of run (e.g. {"classify": 25,
            "transfer": 15}) when the kinds take very different times.
        log: where the lines go (a print-like function).
        tag: the prefix in brackets.
        parallel: how many runs go at once (the estimate divides by it).
    """

    def __init__(self, totals: Union[int, Dict[str, int]], log: Callable[[str], None], tag: str,
                 parallel: int = 1):
        self.totals = dict(totals) if isinstance(totals, dict) else {"run": totals}
        self.total = sum(self.totals.values())
        self.log, self.tag, self.parallel = log, tag, parallel
        self.started, self.done = 0, {kind: 0 for kind in self.totals}
        self.walls: Dict[str, list] = {kind: [] for kind in self.totals}
        self.lock = threading.Lock()

    def minutes_left(self) -> Union[float, None]:
        """The estimate of the minutes left (None before any run has finished)."""
        every = [w for walls in self.walls.values() for w in walls]
        if not every:
            return None
        overall = sum(every) / len(every)
        seconds = sum((self.totals[k] - self.done[k]) * (sum(w) / len(w) if w else overall)
                      for k, w in self.walls.items())
        return seconds / self.parallel / 60

    def start(self, what: str, kind: str = "run") -> float:
        """Announce the next run (of ``kind``); returns its start time for :meth:`finish`."""
        with self.lock:
            self.started += 1
            left = self.minutes_left()
            eta = f", about {left:.0f} min left" if left is not None else ""
            self.log(f"[{self.tag}] {self.started}/{self.total}: {what}{eta}")
        return time.time()

    def finish(self, started: float, ran: bool, kind: str = "run") -> None:
        """Count the run; ``ran`` False: it was read back, not run."""
        with self.lock:
            self.done[kind] += 1
            if ran:
                self.walls[kind].append(time.time() - started)

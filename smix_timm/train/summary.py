"""Reading a run's ``summary.csv`` (the trainer writes it: one row per epoch, timm's columns).

Epochs between validations (``--eval-interval``) have empty eval cells; they are left out of a
row's dict, so ``"eval_top1" in row`` tells a scored epoch.
"""
from __future__ import annotations

import csv
from typing import Dict, List

SUMMARY = "summary.csv"


def read_summary(path: str) -> List[Dict[str, float]]:
    """The rows of ``path`` as dicts of floats (empty cells left out), in epoch order.

    Raises:
        FileNotFoundError: no such file (the run did not finish its first epoch).
        ValueError: a cell that is not a number.
    """
    with open(path, newline="") as f:
        return [{key: float(value) for key, value in row.items() if value not in ("", None)}
                for row in csv.DictReader(f)]

"""Where the benchmark tools put their figures: one JSON file, its folder made on the way."""
from __future__ import annotations

import json
import os
from typing import Optional


def write_json(path: Optional[str], results) -> None:
    """Write ``results`` as indented JSON to ``path`` (nothing when ``path`` is None or empty)."""
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)

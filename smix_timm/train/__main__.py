"""``python -m smix_timm.train -c CONFIG --data-dir DIR``: our timm trainer (:mod:`smix_timm.train.trainer`),
the same program as ``tools/train.py``, for installs without a checkout."""
from smix_timm.train.trainer import cli

raise SystemExit(cli())  # only ever run as python -m smix_timm.train

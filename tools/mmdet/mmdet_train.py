#!/usr/bin/env python
"""Run mmdet's own ``tools/train.py`` (shipped in the mmdet wheel) unchanged, with smix_mmdet registered.

The program is smix_mmdet/mmdet_train.py (also ``python -m smix_mmdet.mmdet_train``); its docstring and
--help say what it passes on.
"""
import sys

from smix_mmdet.mmdet_train import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Run mmdet's own ``tools/test.py`` (shipped in the mmdet wheel) unchanged, with smix_mmdet registered.

The program is smix_mmdet/mmdet_test.py (also ``python -m smix_mmdet.mmdet_test``); its docstring and
--help say what it passes on.
"""
import sys

from smix_mmdet.mmdet_test import main

if __name__ == "__main__":
    sys.exit(main())

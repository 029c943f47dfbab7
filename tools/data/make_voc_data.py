#!/usr/bin/env python
"""Generate the built-in PASCAL VOC-style VOCdevkit (what mmdet's VOC configs read).

The program is smix_lab/data/make_voc_data.py (also ``python -m smix_lab.data.make_voc_data``);
run with --help for its options.
"""
import sys

from smix_lab.data.make_voc_data import main

if __name__ == "__main__":
    sys.exit(main())

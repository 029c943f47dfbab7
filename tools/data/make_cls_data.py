#!/usr/bin/env python
"""Generate the built-in image-classification set (timm folder layout, with object masks).

The program is smix_lab/data/make_cls_data.py (also ``python -m smix_lab.data.make_cls_data``);
run with --help for its options.
"""
import sys

from smix_lab.data.make_cls_data import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Show which backbone tensors of an mmdet config load from a checkpoint.

The program is smix_mmdet/check_cli.py; --help says what it prints and its exit statuses.
"""
import sys

from smix_mmdet.check_cli import main

if __name__ == "__main__":
    sys.exit(main())

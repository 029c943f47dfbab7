#!/usr/bin/env python
"""Show which backbone tensors of an mmdet config load from a checkpoint.

    python tools/mmdet/check_backbone.py configs/mmdet/faster-rcnn_r18_fpn_tiny_voc0712.py CKPT

The program is smix_mmdet/check_cli.py; --help says what it prints and its exit statuses.
"""
import sys

from smix_mmdet.check_cli import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Class activation maps (Zhou et al. 2016; paper sec. 4.3, Fig. 4) for timm checkpoints, side by side.

    python tools/analysis/cam.py BASELINE.pth.tar SMIX.pth.tar --labels baseline smix \\
        --data-dir data/smix_cls --num 8 --out results/cam

The program is smix_lab/analysis/cam.py; run with --help for its options.
"""
import sys

from smix_lab.analysis.cam import main

if __name__ == "__main__":
    sys.exit(main())

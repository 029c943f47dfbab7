#!/usr/bin/env python
"""FGSM robustness (paper sec. 4.4, Table 4): top-1 on adversarial examples for timm checkpoints.

    python tools/analysis/fgsm.py BASELINE.pth.tar SMIX.pth.tar --labels baseline smix \\
        --data-dir data/smix_cls --eps 0 1 2 4 --out results/fgsm

The program is smix_lab/analysis/fgsm.py; run with --help for its options.
"""
import sys

from smix_lab.analysis.fgsm import main

if __name__ == "__main__":
    sys.exit(main())

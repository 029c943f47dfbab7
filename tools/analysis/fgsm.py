#!/usr/bin/env python
"""FGSM robustness (paper sec. 4.4, Table 4): top-1 on adversarial examples for timm checkpoints.

The program is smix_timm/analysis/fgsm.py; run with --help for its options.
"""
import sys

from smix_timm.analysis.fgsm import main

if __name__ == "__main__":
    sys.exit(main())

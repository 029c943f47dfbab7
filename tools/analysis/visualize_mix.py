#!/usr/bin/env python
"""Pictures of SaliencyMix at work (paper Fig. 2, sec. 3.1-3.4), as PNG grids plus a text summary.

    python tools/analysis/visualize_mix.py --data-dir data/smix_cls --out results/pictures

The program is smix_lab/analysis/visualize_mix.py; run with --help for its options.
"""
import sys

from smix_lab.analysis.visualize_mix import main

if __name__ == "__main__":
    sys.exit(main())

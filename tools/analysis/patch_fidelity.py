#!/usr/bin/env python
"""Will SaliencyMix help on my data? How often its patches carry the object, against CutMix's.

    python tools/analysis/patch_fidelity.py --data data/VOCdevkit/VOC2007 --split trainval --size 224
    python tools/analysis/patch_fidelity.py --data instances_val2017.json --images val2017 --size 224

The program is smix_lab/analysis/fidelity_report.py; run with --help for its options.
"""
import sys

from smix_lab.analysis.fidelity_report import main

if __name__ == "__main__":
    sys.exit(main())

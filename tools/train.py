#!/usr/bin/env python3
"""Train a timm image classifier, with SaliencyMix when ``--saliencymix`` > 0.

    python tools/train.py -c configs/timm/tiny_cpu_saliencymix.yaml --data-dir data/smix_cls
    python tools/train.py -c CONFIG --data-dir DIR --resume output/train/EXP/last.pth.tar
    torchrun --nproc_per_node 2 tools/train.py -c CONFIG --data-dir DIR

The trainer is smix_timm/train/trainer.py (its docstring says what it does); --help lists the options.
"""
from smix_timm.train.trainer import cli

if __name__ == "__main__":
    cli()

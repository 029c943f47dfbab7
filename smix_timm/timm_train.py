"""``python -m smix_timm.timm_train PATH/TO/train.py [timm's flags] --saliencymix 1.0``: the name users type.

An entry point only: the launcher is :mod:`smix_timm.train.launcher` (its docstring has the contract
with timm's script). Importing this module does nothing else.
"""
import sys

if __name__ == "__main__":
    from smix_timm.train.launcher import cli
    sys.exit(cli())

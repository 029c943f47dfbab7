#!/usr/bin/env python
"""The whole SaliencyMix journey on built-in data, in one command (``make demo``).

    python tools/demo.py                      # the defaults of `make demo`
    python tools/demo.py --smallest           # a smoke test of every stage, in minutes

The program is smix_lab/demo/runner.py (its docstring lists the stages); --help lists the options.
"""
from smix_lab.demo.runner import main

if __name__ == "__main__":
    main()

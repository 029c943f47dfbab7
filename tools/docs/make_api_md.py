#!/usr/bin/env python
"""Write docs/api.md (the public API reference) from the code's signatures and docstrings; --check compares.

The program is smix_lab/api_docs.py (also ``python -m smix_lab.api_docs``); run from the checkout root.
"""
from smix_lab.api_docs import main

if __name__ == "__main__":
    raise SystemExit(main())  # the exit status tells make and CI whether the file is current

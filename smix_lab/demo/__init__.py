"""The whole journey on built-in data in one command (runner.py; ``make demo`` / tools/demo.py) and its
report and pictures (report.py)."""

# Fresh machine (Python 3.11 + pip): `make test` or `make demo` installs everything into .venv first.
PY := .venv/bin/python

.PHONY: install test demo bench clean-demo

install:
	bash tools/install.sh

test: install
	$(PY) -m ruff check .
	$(PY) -m pytest -q tests

demo: install
	$(PY) tools/demo.py

bench: install
	$(PY) tools/benchmarks/benchmark_saliency.py --batch 64 --size 224
	$(PY) tools/benchmarks/benchmark_loader.py --images 768 --workers 1

clean-demo:
	rm -rf results/demo data/demo

# Conveniences; the README's two quick-start commands need none of this.
PY ?= python3

.PHONY: install demo test lint bench

install:
	$(PY) -m pip install -e '.[dev,cli]'

demo:
	asyncsdk demo

test:
	pytest -W error

lint:
	ruff check .
	mypy --strict asyncsdk

bench:
	$(PY) -m benchmarks

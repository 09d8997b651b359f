# Conveniences; the README's two quick-start commands need none of this.
PY ?= python3

.PHONY: install demo test lint bench docs

install:
	$(PY) -m pip install -e '.[dev,cli,docs]'

demo:
	asyncsdk demo

test:
	pytest -W error

lint:
	ruff check .
	ruff format --check .
	mypy --strict asyncsdk
	mypy --strict tests benchmarks

bench:
	$(PY) -m benchmarks

# The documentation site, checked as CI checks it, built outside the tree.
docs:
	mkdocs build --strict --site-dir "$$(mktemp -d)"

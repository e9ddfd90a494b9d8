# Two entry points for a fresh machine: `make demo` and `make test`.
# Both install what is missing first (Redis from Debian, Python packages into .venv).
VENV ?= .venv
STAMP := $(VENV)/.installed
KCAT := $(VENV)/bin/kcat
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo lint test

setup: $(STAMP) $(KCAT)

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

# kcat that talks to the local broker: Debian's kcat with the confluent-kafka wheel's librdkafka
# (scripts/kcat says why Debian's own cannot).
$(KCAT): scripts/kcat $(STAMP)
	install -m 755 scripts/kcat $@

demo: $(STAMP)
	$(VENV)/bin/healthscore demo

# ruff's rules and mypy's settings are in pyproject.toml; the format check runs last, so the others report first.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff format --check .

test: lint $(KCAT)
	$(VENV)/bin/pytest

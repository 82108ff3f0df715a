# ordergate: `make run` serves the demo store, `make test` runs every check.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= $(or $(ORDERGATE_PORT),8000)

.PHONY: run pay test lint types layers pytest browser-deps node-deps bench bench-ceiling wrk lock clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=24'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: $(STAMP)
	@mkdir -p var
	ORDERGATE_DEMO=1 ORDERGATE_SANDBOX=$${ORDERGATE_SANDBOX:-1} $(BIN)/ordergate migrate
	ORDERGATE_DEMO=1 ORDERGATE_SANDBOX=$${ORDERGATE_SANDBOX:-1} $(BIN)/ordergate demo
	@export ORDERGATE_DEMO=1 ORDERGATE_SANDBOX=$${ORDERGATE_SANDBOX:-1} ORDERGATE_PORT=$(PORT); \
	  echo "storefront: http://localhost:$(PORT)/s/demo   console: http://localhost:$(PORT)/admin"; \
	  $(BIN)/ordergate worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/ordergate serve --port $(PORT)

# A simulated payment for a demo order, with `make run`'s settings (run it beside `make run`):
#   make pay TOKEN=<the end of the tracking link> [CONFIRMATIONS=n] [AMOUNT=x]
# Run it again without AMOUNT to add confirmations to a payment that is still confirming.
pay: $(STAMP)
	@test -n "$(TOKEN)" || { echo "usage: make pay TOKEN=<order token> [CONFIRMATIONS=n] [AMOUNT=x]"; exit 2; }
	ORDERGATE_DEMO=1 ORDERGATE_SANDBOX=$${ORDERGATE_SANDBOX:-1} ORDERGATE_PORT=$(PORT) $(BIN)/ordergate sandbox pay \
	  '$(TOKEN)' $(if $(CONFIRMATIONS),--confirmations $(CONFIRMATIONS)) $(if $(AMOUNT),--amount $(AMOUNT))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

# axe-core for the browser tests' accessibility audit (package-lock.json pins it); npm only, no build.
node-deps:
	@test -f node_modules/axe-core/axe.min.js || npm ci --no-audit --no-fund

pytest: $(STAMP) browser-deps node-deps
	$(BIN)/pytest

test: lint types layers pytest

# wrk (Debian's) drives bench/ceiling.py; without it (and without root or sudo) the python driver does.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get install -y -qq wrk >/dev/null 2>&1 || echo "wrk not installed: bench/ceiling.py uses its python driver"; }

bench: $(STAMP) wrk
	$(BIN)/python bench/run.py
	$(BIN)/python bench/ceiling.py

bench-ceiling: $(STAMP) wrk
	$(BIN)/python bench/ceiling.py

lock: $(STAMP)
	{ echo "# Pinned environment for ordergate (runtime + dev tools). Regenerate: make lock"; \
	  $(BIN)/pip freeze --all --exclude-editable | grep -v '^ordergate' | grep -v '^pip=='; } > requirements.lock

clean:
	rm -rf $(VENV) var test-artifacts .mypy_cache .ruff_cache

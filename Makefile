# Forodha developer commands. `make run` and `make test` are the two commands in the README.
#
# Django 6.1 needs Python >= 3.12: use python3.12 (PATH or pyenv) when present, else python3
# (on Python 3.11 the pinned markers install Django 5.2 LTS, which this code also supports).
PYTHON ?= $(shell for p in python3.12 python3.13 $$HOME/.pyenv/versions/3.12*/bin/python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3.13 python3.11 python3; do \
             if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-dates lint bench fuzz soak clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || (echo "Python >= 3.11 not found" && exit 1)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## run: web + Celery worker + beat on the embedded default (SQLite, filesystem broker), seeded demo;
## logs in var/log/, warnings on the console (`make run DEVSTACK_ARGS=--verbose` for everything)
DEVSTACK_ARGS ?=
run: install
	$(BIN)/python manage.py devstack $(DEVSTACK_ARGS)

## test: the whole suite on this machine's PostgreSQL + Redis, exactly as CI runs it (nothing to set).
## Checks the services and provisions Debian Chromium (apt, as root) before any test starts.
test: install
	@scripts/test-prerequisites
	FORODHA_REQUIRE_SERVICES=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

## test-dates: the whole suite again with the machine's date shifted by libfaketime, once per date
## (TEST_DATES: libfaketime specs separated by ';'; CI runs one of them)
TEST_DATES ?= +31d;@2028-02-29 09:00:00;@2026-12-31 20:59:00
test-dates: install
	@FAKETIME_NEEDED=1 scripts/test-prerequisites
	scripts/test-dates '$(TEST_DATES)'

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

## bench: every bench/bench_*.py on PostgreSQL + Redis here -> bench/results/latest.{json,md} + PNG plots
## (BENCH_ONLY=lodging,replay runs a subset; see docs/performance.md)
bench: install
	$(BIN)/python -m bench.run

## soak: mixed load (agents lodging/paying/polling, officers deciding) for SOAK_SECONDS (<= 600)
## -> bench/results/soak.json + soak.png; fails if any request errored
SOAK_SECONDS ?= 180
soak: install
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m bench.soak

## fuzz: longer reliability campaign: Schemathesis with FUZZ_MAX_EXAMPLES examples per operation, the
## bad-input corpus, and the fault tests with 3,000 lodgings (CI: 5 examples, 1,000 lodgings)
FUZZ_MAX_EXAMPLES ?= 200
fuzz: install
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) RELIABILITY_REDIS_LODGINGS=3000 $(BIN)/python -m pytest -q \
		tests/reliability/test_schemathesis.py tests/reliability/test_bad_input_corpus.py tests/reliability/test_faults.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

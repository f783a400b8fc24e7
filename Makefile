# Quick start: `make run` serves the app on the demo market; `make test` runs the whole suite.
# Both create .venv and install what they need first. See README.md for the plain commands.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?= data
PORT ?= 8501

.PHONY: install install-dev run demo demo-history nightly test bench reliability clean-venv

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev
	scripts/ensure-chromium

# Serve the app; builds the demo snapshot first when there is no snapshot yet.
run: install
	@ls $(DATA_DIR)/snapshots/date=*/stocks.parquet >/dev/null 2>&1 || $(PY) -m screener nightly --source demo --data-dir $(DATA_DIR)
	SCREENER_DATA_DIR=$(DATA_DIR) $(PY) -m streamlit run app.py --server.port $(PORT)

demo: install
	$(PY) -m screener nightly --source demo --data-dir $(DATA_DIR)

# Half a year of weekly demo snapshots: the history point-in-time baskets read (~30 s).
demo-history: install
	$(PY) -m screener nightly --source demo --backfill-weeks 26 --data-dir $(DATA_DIR)

nightly: install
	$(PY) -m screener nightly --data-dir $(DATA_DIR)

test: install-dev
	$(PY) -m pytest

bench: install-dev
	$(PY) -m benchmarks

# Fault, hostile-input and load suites (their CI variants), then the one-page reliability report
# read from artifacts/reliability/*.json (contract: benchmarks/reliability.py).  Fails when a
# suite fails or anything was lost; the page is printed either way.
RELIABILITY_TESTS = $(sort $(wildcard tests/test_faults_*.py tests/test_fuzz_*.py tests/test_hostile_*.py tests/test_load_*.py))
reliability: install-dev
	@rm -rf artifacts/reliability
	$(PY) -m pytest -q $(RELIABILITY_TESTS); tests=$$?; \
	$(PY) benchmarks/reliability.py; report=$$?; \
	test $$tests -eq 0 -a $$report -eq 0

clean-venv:
	rm -rf $(VENV)

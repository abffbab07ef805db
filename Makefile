# One Makefile for people and CI. Every target creates the project virtualenv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test test-pg lint run bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q

# The store suite on PostgreSQL too: starts a throw-away server on 127.0.0.1:54329.
test-pg: install
	PURDAH_TEST_PG_URL="$$(bash .ci/postgres)" $(BIN)/python -m pytest -q

# The main job on the embedded default: a SQLite file under var/, loaded (once) with the
# example register and the shipped calendars as feeds; a fresh token `make-run` for the
# private routes (printed); the scheduler and the HTTP service in the foreground (Ctrl-C
# stops them).
RUN_DB ?= var/purdah.db
PORT ?= 8080
run: install
	mkdir -p var
	$(BIN)/purdah init --db $(RUN_DB)
	bash calendars/example/load $(BIN)/purdah $(RUN_DB)
	@$(BIN)/purdah token revoke make-run --db $(RUN_DB) >/dev/null 2>&1 || true
	@echo "purdah: the clerk's page is at http://127.0.0.1:$(PORT)/ (any user name; the token below as the password, or 'Authorization: Bearer TOKEN'):"
	@$(BIN)/purdah token add make-run --db $(RUN_DB) | tail -n 1
	$(BIN)/purdah run --serve --port $(PORT) --db $(RUN_DB)

# National-scale figures, as ratios to baselines measured in the same run (bench/).
bench: install
	$(BIN)/python bench/bench_store.py
	for n in 1000 10000 100000; do $(BIN)/python bench/bench_check.py --councillors $$n \
	  $${PURDAH_BENCH_PG:+--pg $$PURDAH_BENCH_PG}; done
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_http.py
	$(BIN)/python bench/bench_health.py

lint: install
	$(BIN)/ruff check purdah tests bench
	$(BIN)/ruff format --check purdah tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info var

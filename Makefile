# `make demo` and `make test` set themselves up on a fresh machine: each creates .venv if missing and installs
# the project (with its test extra) into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# pytest runs on every core (pytest-xdist). `loadfile` keeps a module's tests on one worker, so its module fixtures
# are built once; the files go out in collection order, so tests/reliability/ (the slowest) starts first. (Not
# `loadgroup`: it groups nothing with pytest 9.2, pytest-dev/pytest-xdist#1386.) The slowest 15 tests and the wall
# time (tests/conftest.py) are printed, so that the 4-minute budget stays in view.
PYTEST := $(BIN)/pytest -q -n auto --dist loadfile --no-loadscope-reorder

.PHONY: demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,postgres]'
	touch $(STAMP)

# Each command's start reads compiled modules (issue 25): where PYTHONDONTWRITEBYTECODE is set, as on some shared
# and CI machines, Python would otherwise compile about a hundred of them again at every start. Quick when current.
COMPILE := $(BIN)/python -m compileall -q caseaudit_batch run_monthly.py

demo: $(STAMP)
	$(COMPILE)
	$(BIN)/python run_monthly.py demo

# The tests start caseaudit as a child process a few hundred times. On a fresh checkout where PYTHONDONTWRITEBYTECODE
# is set (this machine, CI), each start compiled the package again: two files of such tests took 44-46 s, against
# 31-39 s compiled first, as the demo is.
test: $(STAMP)
	$(COMPILE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy caseaudit_batch
	tests/pg/with-cluster.sh $(PYTEST) --durations=15

# The edit loop: lint and the tests not marked slow (no child processes, LibreOffice or demo plays).
test-fast: $(STAMP)
	$(COMPILE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	tests/pg/with-cluster.sh $(PYTEST) -m "not slow"

bench: $(STAMP)
	$(COMPILE)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) output/demo .pytest_cache .mypy_cache .ruff_cache

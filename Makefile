# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Options for every bench, e.g. `make bench BENCH_ARGS=--quick` (each understands --quick and --runs).
BENCH_ARGS ?=

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	./scripts/run_dev.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Every bench/*.py but the report (so a new bench is picked up), then bench/RESULTS.md from what they
# recorded. A bench that fails does not stop the others; make fails at the end.
bench: $(STAMP)
	@failed=""; \
	for script in bench/*.py; do \
		[ "$$script" = bench/report.py ] && continue; \
		echo "== $$script $(BENCH_ARGS)"; \
		$(PY) $$script $(BENCH_ARGS) || failed="$$failed $$script"; \
	done; \
	$(PY) bench/report.py; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

clean:
	rm -rf var/ $(VENV)

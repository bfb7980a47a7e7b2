# Duly: `make run` for the demo, `make test` for everything. Both start embedded PostgreSQL and
# Redis under var/ unless DATABASE_URL / REDIS_URL are set.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := var/tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
EMBEDDED := $(PY) -m config.embedded --
export UV_PYTHON_DOWNLOADS := never
# Bytecode is written (under __pycache__, ignored by git): every test process otherwise compiles Duly and
# its rewritten tests from source again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install system run test check lint docs bench faults clean messages backup restore

# Test processes: pytest-xdist workers, one per core of a 2-core machine; an idle worker takes tests queued
# for the other (--dist worksteal), so one slow test near the end does not hold the run. ARGS="-n 0" runs in one.
WORKERS ?= 2

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

# Duly's translations (locale/*/LC_MESSAGES/django.po), compiled for Django by Babel, in Python: no system
# gettext needed to run Duly (see docs/decisions/language-and-formats.md).
MO := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

locale/%.mo: locale/%.po | $(VENV)/.synced
	$(VENV)/bin/pybabel -q compile -i $< -o $@

install: $(VENV)/.synced $(MO)

# Extract the translatable strings into the catalogues (Django's makemessages, GNU gettext's xgettext);
# then translate what is new: tests/core/test_catalogues.py fails on anything untranslated.
messages: install
	DATABASE_URL=postgres://unused/duly REDIS_URL=redis://unused $(PY) manage.py makemessages -l es -l de \
		--ignore=.venv --ignore=var --ignore=tests --ignore=docs --add-location=file

run: install
	$(EMBEDDED) bash -c '$(PY) manage.py migrate --noinput && $(PY) manage.py seed_demo && exec $(VENV)/bin/honcho start'

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	@$(MAKE) --no-print-directory docs

# The documentation site (mkdocs-material) into var/site; any warning (a broken link, a page missing
# from the navigation) fails it.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Chromium, Pango and wrk from Debian when the machine lacks them (installed as root, else the command is shown).
system:
	bin/system-packages

# Everything, on a fresh test database.
test: lint system
	$(EMBEDDED) $(PY) -m pytest -n $(WORKERS) --dist worksteal --create-db $(ARGS)

# The loop to run many times an hour: lint, then every test but the browser, worker and fault tests, on
# test databases kept between runs (migrations still apply), the property-based ones on a fifth of their
# examples (tests.helpers.examples). `make check ARGS=--lf` reruns the failures.
check: lint
	$(EMBEDDED) env DULY_QUICK_PROPERTIES=1 $(PY) -m pytest -n $(WORKERS) --dist worksteal --reuse-db -m "not browser and not worker" \
		--ignore=tests/faults $(ARGS)

# The fault suite (tests/faults) at a larger scale; `make test` runs the same cases at scale 1.
faults: install
	$(EMBEDDED) env DULY_TEST_DATABASE=test_duly_faults DULY_FAULTS_SCALE=$${DULY_FAULTS_SCALE:-5} \
		$(PY) -m pytest tests/faults -v -p no:warnings $(ARGS)

# A backup of the database (pg_dump's custom format) into var/backups/, or OUTPUT=FILE; `make restore
# FILE=… INTO=name` restores one into a new database on the same server (core/backups.py, docs/operations.md).
backup: install
	$(EMBEDDED) $(PY) manage.py backup $(if $(OUTPUT),--output $(OUTPUT))

restore: install
	@test -n "$(FILE)" -a -n "$(INTO)" || { echo "usage: make restore FILE=var/backups/….dump INTO=new_database_name"; exit 2; }
	$(EMBEDDED) $(PY) manage.py restore $(FILE) --into $(INTO)

# Benchmarks print JSON lines; they are not part of `make test`. `make bench BENCH=tests/bench/bench_pages.py`
# runs one file.
BENCH ?= tests/bench
bench: install system
	$(EMBEDDED) env DULY_TEST_DATABASE=test_duly_bench $(PY) -m pytest $(BENCH) -q -s -p no:warnings \
		-o python_files='bench_*.py' -o python_functions='bench_*' $(ARGS)

clean:
	rm -rf var/pg var/redis var/static

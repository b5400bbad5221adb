# terraform-provider-alembic: set-up, checks and tests.
#   make demo   create the virtualenv, install the provider, apply examples/demo
#   make test   unit, property and acceptance tests (PostgreSQL/MariaDB URLs from the environment)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TERRAFORM ?= $(shell command -v terraform 2>/dev/null || echo $(abspath $(VENV))/bin/terraform)
PYTEST_WORKERS ?= 2
# The oldest Alembic and SQLAlchemy the worker supports, for the compatibility tests.
LEGACY_VENV ?= .venv-legacy
LEGACY_STAMP := $(LEGACY_VENV)/.installed
export ALEMBIC_TEST_LEGACY_PYTHON ?= $(abspath $(LEGACY_VENV))/bin/python

.PHONY: venv demo test unit testacc fmt lint typecheck check proto diagrams docs bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(LEGACY_STAMP):
	$(PYTHON) -m venv $(LEGACY_VENV)
	$(LEGACY_VENV)/bin/python -m pip install --quiet 'alembic==1.7.7' 'sqlalchemy==1.4.54' psycopg2-binary pymysql
	touch $(LEGACY_STAMP)

demo: $(STAMP)
	$(PY) -m alembic_provider install
	cd examples/demo && rm -f .terraform.lock.hcl && \
	  TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 $(TERRAFORM) init -input=false -no-color >/dev/null && \
	  TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 $(TERRAFORM) apply -input=false -no-color -auto-approve && \
	  echo "Database revision reached: $$(TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 $(TERRAFORM) output -raw revision)"

test: $(STAMP) $(LEGACY_STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider tests acceptance

unit: $(STAMP) $(LEGACY_STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider tests

testacc: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider acceptance

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	cd alembic_provider/executor/worker && $(abspath $(VENV))/bin/mypy \
	  --config-file $(CURDIR)/pyproject.toml --cache-dir $(CURDIR)/.mypy_cache/worker *.py

check: lint typecheck

proto: $(STAMP)
	$(PY) scripts/gen_proto.py

diagrams: $(STAMP)
	$(PY) scripts/diagrams.py

docs: $(STAMP)
	$(PY) scripts/gen_docs.py

bench: $(STAMP)
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) $(LEGACY_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

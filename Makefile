# Two commands do all the set-up on a fresh machine:
#   make demo   apply the SecureCart example to the local sandbox, dev → staging → prod
#   make test   run the whole test suite (unit, module, integration, browser)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins its own boto3 and an old `packaging`, which the project's venv must not take: it gets a venv of
# its own, which tests/modules/test_checkov.py runs.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov

.PHONY: demo test test-fast lint golden schema bench bench-quick clean

# The package is installed editable, so pip compiles none of its modules; where PYTHONDONTWRITEBYTECODE is set
# Python never caches them either, and every command would compile the package again (about 0.2 CPU-s each,
# hundreds of times in the tests). compileall writes the cache once; Python still reads it, and recompiles in
# memory any module edited since.
# The two venvs are built side by side (pip spends much of its time waiting on downloads): `make` runs the
# checkov venv's build in the background and waits for it before marking the project's venv ready.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)' > $(CHECKOV_VENV).log 2>&1 & checkov=$$!; \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/pip install --quiet --upgrade pip && \
	$(BIN)/pip install --quiet -e '.[test]'; project=$$?; \
	wait $$checkov || { cat $(CHECKOV_VENV).log >&2; exit 1; }; \
	exit $$project
	$(BIN)/python -m compileall -q securecart_tf
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/securecart-tf validate
	$(BIN)/securecart-tf apply --env dev --auto-approve
	$(BIN)/securecart-tf apply --env staging --auto-approve
	$(BIN)/securecart-tf apply --env prod --auto-approve --confirm-env prod

# Three workers, one test file each: Terraform plans are CPU-bound, but much of an apply is waiting on AWS.
test: $(STAMP)
	$(BIN)/pytest -n 3 --dist loadfile --durations=30

test-fast: $(STAMP)
	$(BIN)/pytest -m "not integration and not modules and not e2e and not browser"

lint: $(STAMP)
	$(BIN)/ruff check securecart_tf tests bench
	$(BIN)/ruff format --check securecart_tf tests bench
	$(BIN)/mypy securecart_tf
	env -u TF_CLI_CONFIG_FILE terraform fmt -check -recursive modules

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-quick: $(STAMP)
	$(BIN)/python bench/run.py --quick

golden: $(STAMP)
	$(BIN)/python -m tests.golden.regenerate
	$(BIN)/python -m tests.golden.pipeline.regenerate

schema: $(STAMP)
	$(BIN)/securecart-tf schema --output access-matrix.schema.json

clean:
	rm -rf build .securecart .pytest_cache

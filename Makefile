# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv/ on first use and installs into it what production runs on
# (requirements.txt, the locked set), with the venv's own pip as a platform has it.
# `make lock` recompiles requirements.txt from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK_CMD = $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock"

.PHONY: run test lock lock-check

$(BIN)/.installed: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/feeds run

test: $(BIN)/.installed
	$(BIN)/python -m pytest

$(BIN)/uv: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[lock]'

# Keeps the pins already in requirements.txt where pyproject.toml still allows them;
# `make lock UPGRADE=1` (or UPGRADE="--upgrade-package NAME") moves them on.
lock: $(BIN)/uv
	$(LOCK_CMD) $(if $(filter 1,$(UPGRADE)),--upgrade,$(UPGRADE)) -o requirements.txt

# Fails when requirements.txt is not what `make lock` would write from pyproject.toml.
lock-check: $(BIN)/uv
	@tmp=$$(mktemp) && cp requirements.txt $$tmp && $(LOCK_CMD) -o $$tmp && \
	if cmp -s requirements.txt $$tmp; then echo "requirements.txt is in step with pyproject.toml"; rm -f $$tmp; \
	else diff -u requirements.txt $$tmp; rm -f $$tmp; \
	echo "requirements.txt is out of step with pyproject.toml: run make lock and commit it" >&2; exit 1; fi

# NevoLab: `make book` builds the whole book, `make test` runs the whole test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= default
NB ?=
ARGS ?=

.PHONY: venv venv-brax venv-envpool book notebooks html test run bench lock lint clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11); set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The optional brax extra (Study B's brax:<env> tasks), on top of the base venv; the tests need it.
venv-brax: $(VENV)/.installed-brax

$(VENV)/.installed-brax: $(VENV)/.installed requirements-brax.lock
	$(BIN)/python -m pip install --quiet -r requirements-brax.lock
	touch $@

# The optional envpool extra (Study C's envpool:<task>, the real CarRacing-v3 and Atari), on top of the
# base venv. Best effort, so CI's `make test` goes on offline: if pip fails, the tests that need envpool
# skip and name the install command; the stamp is written only on success, so the next make retries.
venv-envpool: $(VENV)/.installed-envpool

$(VENV)/.installed-envpool: $(VENV)/.installed requirements-envpool.lock
	@if $(BIN)/python -m pip install --quiet -r requirements-envpool.lock; then touch $@; else \
		echo "warning: the envpool extra did not install; its tests will skip (retry: make venv-envpool)" >&2; fi

# C6 runs on envpool's CarRacing-v3, so the book needs the envpool extra (best effort, as for the tests).
notebooks: venv venv-envpool
	$(BIN)/nevolab run-all --profile $(PROFILE)

html: venv
	$(BIN)/jupyter-book build . --path-output . --keep-going

book: notebooks html
	@echo "open _build/html/index.html"

# The whole suite on pytest-xdist workers (under 10 minutes on the 2-core machine; README). Tests
# that share a book or a module-scoped fixture run together on one worker, so each is built once;
# the two books start first (the scheduler is in tests/conftest.py).
TEST_WORKERS ?= 2

test: venv venv-brax venv-envpool
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=25

run: venv
	@test -n "$(NB)" || { echo "usage: make run NB=<notebook> [PROFILE=default] [ARGS='-p name value']" >&2; exit 2; }
	$(BIN)/nevolab run $(NB) --profile $(PROFILE) $(ARGS)

bench: venv
	$(BIN)/nevolab bench $(ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks notebooks

# Re-pin every package from the current venv (after changing pyproject.toml's dependencies); the brax
# and envpool extras' pins (requirements-brax.lock, requirements-envpool.lock) stay out of requirements.lock.
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -E '^(pip-tools|build|pyproject_hooks|wheel)==' \
		| grep -v -x -F -f requirements-brax.lock | grep -v -x -F -f requirements-envpool.lock > requirements.lock

clean:
	rm -rf _build .pytest_cache

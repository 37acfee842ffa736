# The two ways in: `make demo` runs the portal, `make test` runs everything CI checks.
# Both work on a bare Debian or Ubuntu machine with Python 3.12: as root, make installs the
# system packages it needs with apt; otherwise it prints the apt line to run.

PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-cjk gettext chromium

.PHONY: demo test system lint typecheck migrations-check pytest lock clean

demo: system $(VENV)/.installed node_modules/.installed messages
	$(BIN)/python -m clearance.devstack

# Tests load settings with DEBUG=true (no HTTPS redirect, static files from the finders);
# production settings are checked separately by tests/clearance/test_settings.py.
test: system $(VENV)/.installed node_modules/.installed messages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=true $(BIN)/mypy .
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=true DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest $(PYTEST_ARGS)

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,demo]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

messages: $(VENV)/.installed
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore '.venv' --ignore 'node_modules' -v0

system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "Missing system packages. Run: sudo apt-get install -y $$missing"; exit 1; \
		fi; \
	fi

# Re-pin every Python package to what is installed now (after a deliberate upgrade).
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) node_modules build

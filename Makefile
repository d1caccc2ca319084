# BL Intake. `make run` serves the forms; `make test` runs every test.
# Both set themselves up on a fresh machine: the venv, the packages, Debian's Chromium, and the
# W3C Nu Html Checker (npm's vnu-jar) with Debian's Java.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
VNU_DIR := tools/vnu
VNU_JAR := $(VNU_DIR)/node_modules/vnu-jar/build/dist/vnu.jar
export INTAKE_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test fuzz lint audit chromium deploy-tools java vnu bench clean translations

# The test extra brings the emulator extra (trustme), which `make run` needs as well.
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

instance/secret_key:
	mkdir -p instance
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@

# The English catalogue compiled (.po → .mo, never committed; the wheel's build hook does the
# same): the app in this checkout reads the .mo beside the .po.
translations: $(INSTALLED)
	$(BIN)/python tools/i18n.py compile >/dev/null

# The web server, the delivery worker and the local Salesforce emulator; Ctrl-C stops them all.
run: $(INSTALLED) instance/secret_key translations
	HOST=$(HOST) PORT=$(PORT) tools/run-embedded

chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

# For the tests of deploy/: Debian's nginx (tests/system/test_nginx.py runs the repository's
# site file in front of gunicorn, on loopback, and stops it again) and systemd's
# systemd-analyze (tests/system/test_deploy_files.py verifies the units). The nginx package's
# own service is not wanted: Debian containers' policy-rc.d keeps it from starting.
deploy-tools:
	@{ [ -x /usr/sbin/nginx ] && command -v systemd-analyze >/dev/null; } || { \
	  echo "Installing Debian's nginx and systemd for the tests of deploy/"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx systemd; }

# The W3C Nu Html Checker, at the version tools/vnu/package-lock.json pins, and Debian's Java to
# run it: tests/integration/test_html_valid.py checks every page and HTML e-mail with it.
java:
	@command -v java >/dev/null || { \
	  echo "Installing Debian's Java for the Nu Html Checker"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless; }

$(VNU_JAR): $(VNU_DIR)/package.json $(VNU_DIR)/package-lock.json
	@command -v npm >/dev/null || { \
	  echo "Installing Debian's npm for the Nu Html Checker"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	cd $(VNU_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

vnu: java $(VNU_JAR)

# Style, the import contracts of pyproject.toml (no cycle, dependencies one way), the types
# (mypy, with its settings in pyproject.toml: a type error fails), and the catalogues: a
# message missing from one, untranslated or fuzzy fails (tools/i18n.py; also a test).
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python tools/i18n.py check

# bandit on our code, pip-audit on the installed packages; a finding fails unless
# security-allowlist.toml explains it with a reason.
audit: $(INSTALLED)
	$(BIN)/python tools/security_audit.py

test: $(INSTALLED) translations chromium deploy-tools vnu lint audit
	INTAKE_CHROMIUM="$$(command -v chromium)" INTAKE_VNU_JAR="$(abspath $(VNU_JAR))" \
	  $(BIN)/pytest -n 2 $(PYTEST_ARGS)

# Hypothesis's "fuzz" profile: at least 10,000 hostile posts per database to the public forms
# and the sign-in form (tests/integration/test_fuzz.py); prints how many examples ran and the outcome.
fuzz: $(INSTALLED)
	@mkdir -p test-output && rm -f test-output/fuzz-count
	@HYPOTHESIS_PROFILE=fuzz FUZZ_COUNT_FILE=test-output/fuzz-count \
	  $(BIN)/pytest -n 2 -q tests/integration/test_fuzz.py $(PYTEST_ARGS) | tee test-output/fuzz.log; \
	  rc=$${PIPESTATUS[0]}; \
	  examples=$$(awk '{ n += $$1 } END { print n + 0 }' test-output/fuzz-count 2>/dev/null); \
	  failed=$$(grep -oE '[0-9]+ (failed|error)' test-output/fuzz.log | awk '{ n += $$1 } END { print n + 0 }'); \
	  echo "fuzz: $$examples examples, $$failed failures (pytest exit $$rc)"; \
	  exit $$rc

bench: $(INSTALLED)
	$(BIN)/python bench/intake.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache .mypy_cache test-output $(VNU_DIR)/node_modules

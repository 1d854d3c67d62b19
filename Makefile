# OneWindow: `make run` serves the demo on http://127.0.0.1:5000; `make test` runs lint and the whole suite.
# Both start from a fresh machine with nothing but Python and root: they make the venv and install what is missing.

VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
RUNTIME_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fontconfig
TEST_DEBS := chromium

.PHONY: run test lint venv debs-runtime debs-test translations translations-extract bench-engine clean

$(VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# Installs the Debian packages only when one is missing (apt-get needs root, which `make` has on these machines).
debs-runtime:
	@missing=$$(for p in $(RUNTIME_DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

debs-test: debs-runtime
	@missing=$$(for p in $(TEST_DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "Installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

translations: venv
	$(VENV)/bin/pybabel compile -d translations

# Re-extract the message catalogue template and merge it into the three catalogues (then translate the new strings);
# the catalogues are kept 120 columns wide, like the code, so that a merge shows only what changed.
translations-extract: venv
	$(VENV)/bin/pybabel extract -F translations/babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location \
	  --sort-output --width 120 -o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --width 120 \
	  --ignore-obsolete

# An explicit development environment: the first run generates instance/secret_key (0600); nothing else does.
run: export ONEWINDOW_ENV ?= development
run: venv debs-runtime translations
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: venv
	$(VENV)/bin/ruff check .

# pytest's exit code 5 ("no tests ran") is a failure, not a pass.
test: venv debs-test translations lint
	@$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "No tests were collected: failing."; exit 1; fi; exit $$status

bench-engine: venv
	test -d peer-venv || (python3 -m venv peer-venv && peer-venv/bin/pip install --quiet SpiffWorkflow==3.2.0)
	$(PY) bench/engine_bench.py --k $${K:-2000} --backend sqlite --peer peer-venv/bin/python

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

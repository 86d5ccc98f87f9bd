# Viewing Bridge: `make run` to try it, `make test` to test it, `make serve` to run it as in production.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Django 6 needs Python 3.12+: take the first one found (pyenv installs count too).
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[234]*/bin/python3) python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)

.PHONY: run serve test lint format install clean

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (Django 6 requires it)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The rq extra too: `bench/delivery.py --backend rq` measures the Redis task backend;
# the dev extra is make run's mail catcher.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,rq,dev]'
	@touch $@

install: $(VENV)/.installed

# Development mode on purpose (DEBUG and the public development keys); without it the app
# refuses to start without real keys.
run test: export DJANGO_DEV_MODE := 1
# The sandbox providers serve plain http on loopback; the operator allows them explicitly.
run: export BROKER_ALLOWED_HOSTS ?= http://127.0.0.1
# Mail goes to the local catcher, read at http://127.0.0.1:1080.
run: export EMAIL_URL ?= smtp://127.0.0.1:1025

run: install
	$(PY) manage.py migrate --noinput
	@mkdir -p var
	set -o pipefail; $(PY) manage.py demo | tee var/demo.txt
	@trap 'kill 0' EXIT; \
	$(PY) manage.py sandbox & \
	$(VENV)/bin/maildump --foreground --smtp-port 1025 --http-port 1080 & \
	$(PY) manage.py delivery_worker --interval 0.2 & \
	$(PY) manage.py crontask --no-heartbeat & \
	$(PY) manage.py runserver 127.0.0.1:8000 & \
	for _ in $$(seq 150); do (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null && break; sleep 0.2; done; \
	echo; tail -n +2 var/demo.txt; \
	echo "  Mail catcher:    http://127.0.0.1:1080/   (Ctrl-C stops everything)"; \
	wait

# The production stack on this machine: production settings (DEBUG off, static files collected
# and served by WhiteNoise), gunicorn, the worker and the scheduler as their own processes.
# Keys and local hosts come from SERVE_ENV, written once with fresh random keys
# (config/serve_env.py); the environment wins over it, e.g. DATABASE_URL=postgres://...
SERVE_ENV ?= var/serve.env
SERVE_PORT ?= 8000
SERVE_WORKERS ?= 2
serve: export DJANGO_DEV_MODE := 0
serve: export DEBUG := false
serve: export ENV_FILE := $(abspath $(SERVE_ENV))

serve: install
	$(PY) -m config.serve_env $(SERVE_ENV)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "http://127.0.0.1:$(SERVE_PORT)/admin/ (manage.py createsuperuser for a login; ENV_FILE=$(SERVE_ENV))   Ctrl-C stops everything"
	@trap 'kill 0' EXIT; \
	$(PY) manage.py delivery_worker & \
	$(PY) manage.py crontask --no-heartbeat & \
	$(VENV)/bin/gunicorn -c config/gunicorn.py config.wsgi --bind 127.0.0.1:$(SERVE_PORT) --workers $(SERVE_WORKERS) --no-control-socket

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 var/

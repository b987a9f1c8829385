# Two commands matter: `make run` and `make test`. Everything they need is installed into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install install-dev migrate demo lint bench bench-designs bench-orders bench-mockups bench-marketplace bench-duplicates bench-load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py setup_schedules

demo: migrate
	$(BIN)/python manage.py seed_templates
	$(BIN)/python manage.py seed_demo --if-empty --users 3 --designs 12 --orders 40 --images

## make run: set up and start the web server and a task worker; Ctrl-C stops both.
run: demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo; echo "Threadline is serving on port $(PORT) (PORT=... make run for another): http://$(HOST):$(PORT)/"
	@echo "  admin: http://$(HOST):$(PORT)/admin/   health: http://$(HOST):$(PORT)/healthz"
	@cat var/demo-logins.txt 2>/dev/null || true; echo
	@rm -rf var/metrics && mkdir -p var/metrics  # gunicorn's processes share their metrics there; fresh each start
	@bash -c 'trap "trap - INT TERM EXIT; kill 0" INT TERM EXIT; \
		export SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}"; \
		$(BIN)/python manage.py qcluster & \
		PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/metrics $(BIN)/gunicorn project.asgi -b $(HOST):$(PORT) -w $(WEB_WORKERS) --access-logfile - & \
		wait'

## make test: the whole suite; on PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set. It writes to a
## temporary folder of its own (tests/settings.py), never to var/.
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

bench: bench-designs bench-orders bench-mockups bench-marketplace bench-duplicates

bench-designs: install-dev
	$(BIN)/python -m bench designs

bench-duplicates: install-dev
	$(BIN)/python -m bench duplicates

bench-orders: install-dev
	$(BIN)/python -m bench orders

bench-mockups: install-dev
	$(BIN)/python -m bench mockups

bench-marketplace: install-dev
	$(BIN)/python -m bench marketplace

## make bench-load: the app under load (gunicorn + qcluster + locust, loopback only, <= 4 min); needs a seeded
## PostgreSQL in DATABASE_URL and Redis (REDIS_URL, default redis://127.0.0.1:6379/0). LOAD_ARGS="--duration 20"
bench-load: install-dev
	$(BIN)/python -m bench load $(LOAD_ARGS)

clean:
	rm -rf var/test-* var/static

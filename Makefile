# Two commands on a fresh Debian machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
PORT   ?= 5000
SIM_PORT ?= 5055

.PHONY: install run reset-demo test test-fast e2e-browser soak bench clean

# A progress line per step, and pip's own lines: a first install takes a minute or two and
# should never look stuck.
$(STAMP): requirements.txt
	@test -x $(BIN)/python || { echo "==> Creating the virtualenv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> Installing the pinned requirements into $(VENV) (a minute or two the first time)"
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)
	@echo "==> Installed"

install: $(STAMP)

# Browser tests drive Debian's Chromium; install it when we may (root with apt-get).
e2e-browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium; browser tests will say so"; \
	  else echo "chromium is missing (apt-get install chromium); browser tests will say so"; fi; }

# Two processes by default (xdist; each has its own database, googlesim and Redis
# namespace): the whole suite in about half the time on a 2-core machine.
TEST_WORKERS ?= 2
test: install e2e-browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

run: install
	@bin/run-stack $(PORT) $(SIM_PORT)

# Start the demo over (stop `make run` first): every row deleted and the demo seeded again,
# and googlesim's accounts and events forgotten; nothing is reinstalled (the migrations only
# run if some are new).
reset-demo: install
	@FLASK_APP=wsgi $(BIN)/flask db upgrade
	@echo "==> Deleting all data and seeding the demo again"
	@FLASK_APP=wsgi $(BIN)/flask seed-demo --reset
	@rm -f "$${PORTAL_INSTANCE_PATH:-instance}/googlesim.sqlite"
	@echo "==> Done: make run starts the fresh demo"

# The sync property tests, long: hundreds of random edit/fault/crash sequences, one user
# and two users sharing meetings.
soak: install
	SYNC_PROPERTY_EXAMPLES=$${SYNC_PROPERTY_EXAMPLES:-300} SYNC_PROPERTY_STEPS=$${SYNC_PROPERTY_STEPS:-40} \
	  $(BIN)/python -m pytest tests/sync/test_sync_properties.py \
	  tests/sync/test_sync_properties_shared.py \
	  tests/sync/test_sync_properties_contacts.py $(PYTEST_ARGS)

# Every figure of the sync, scheduler and pages next to its target (about 5 minutes).
bench: install
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/contacts_bench.py
	$(BIN)/python bench/dispatcher_bench.py
	$(BIN)/python bench/pacing_bench.py
	$(BIN)/python bench/web_bench.py
	$(BIN)/python bench/push_bench.py

clean:
	rm -rf $(VENV) instance .pytest_cache

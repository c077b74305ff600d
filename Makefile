# BESSAI Edge: `make run` installs and starts the gateway on the built-in simulator; `make test` checks everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-deps lint bench screenshots install clean deb

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The operator app on the built-in simulator (a window; add --kiosk for full screen, --headless for none).
run: $(STAMP)
	$(BIN)/bessai

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Debian's tools the tests use (installed when root, else the exact command, before any test runs).
test-deps:
	bash packaging/test-deps.sh

# Two workers (pytest-xdist), each taking the next test when it is free: the 2 cores' suite.
test: test-deps lint
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -q -n 2 --dist worksteal

bench: $(STAMP)
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/endpoints.py
	$(BIN)/python bench/outbox.py
	$(BIN)/python bench/ids.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/frequency.py
	$(BIN)/python bench/plant.py
	$(BIN)/python bench/scada.py
	$(BIN)/python bench/heap.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/gui.py
	$(BIN)/python bench/gui_idle.py
	$(BIN)/python bench/gui_plant_idle.py

# A scripted scenario (half an hour of simulated history, then trip, comms loss, E-stop and an
# intrusion on the live simulator) at 1280x800 and 800x480, in Spanish and English, under Xvfb;
# then a touch-only commissioning, tap by tap, on an 800x480 screen with no window manager.
screenshots: $(STAMP)
	rm -rf screenshots
	xvfb-run -a -s "-screen 0 1920x1080x24" $(BIN)/python -m bessai.gui.screenshots --out screenshots --lang es en
	xvfb-run -a -s "-screen 0 800x480x24" $(BIN)/python -m bessai.gui.screenshots_touch --out screenshots/touch --lang es en

# dist/bessai-edge_<version>_<arch>.deb (needs Debian's python3.11 and python3-venv).
deb:
	bash packaging/deb/build.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

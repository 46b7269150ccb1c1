# lobbybot: `make demo` and `make test` work on a fresh machine (they run setup first).
VENV ?= .venv
PY := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.lobbybot-setup
SETUP_INPUTS := pyproject.toml requirements/ros-build.txt requirements/vision-models.txt scripts/setup.sh scripts/build_ros.sh \
	$(shell find robot_ws/src launch config -type f -not -name '*.pyc' 2>/dev/null)

.PHONY: setup demo demo-fast demo-graph test test-slow lint bench docs clean train-intent

setup: $(SETUP_STAMP)

$(SETUP_STAMP): $(SETUP_INPUTS)
	VENV=$(VENV) scripts/setup.sh
	touch $@

demo: setup
	VENV=$(VENV) scripts/demo.sh

# The same morning rush with every node in-process on simulated time (~3 min).
demo-fast: setup
	VENV=$(VENV) FAST=1 scripts/demo.sh

# The node graph over ROS 2 and ZMQ: every contract, kill -9 and respawn, teller, chat.
demo-graph: setup
	$(PY) scripts/demo.py

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	$(PY) -m pytest -q

# Long suites (marked slow). pytest exits 5 when a selection is empty: not a failure here.
test-slow: setup
	$(PY) -m pytest -q -m slow; rc=$$?; [ $$rc -eq 5 ] && echo "no slow tests selected" && rc=0; exit $$rc

bench: setup
	$(PY) bench/transport.py
	$(PY) bench/routing.py
	$(PY) bench/nlu.py
	$(PY) bench/slots.py
	$(PY) bench/kiosk.py
	$(PY) bench/vision.py
	$(PY) bench/asr.py
	$(PY) bench/vad.py
	$(PY) bench/tts.py
	$(PY) bench/sim.py

# Rebuild the intent dataset and retrain the INT8 ONNX intent model (torch: training only).
train-intent: setup
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[train]'
	$(PY) dialog/data/build_dataset.py
	$(PY) -m dialog.intent.train

docs: setup
	$(PY) -m lobbybot interfaces docs > docs/contracts.md

clean:
	rm -rf build install log $(VENV) .pytest_cache

#!/usr/bin/env bash
# The main job. Until the simulated lobby day lands (issue 7) it is the foundation demo:
# the real node graph over ROS 2 and ZMQ, with a node killed and respawned.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${VENV:-.venv}/bin/python" scripts/demo.py

#!/usr/bin/env bash
# Build robot_ws (lobby_interfaces, lobby_bringup) with colcon against the PyPI ROS 2 wheels,
# then register the install space in the venv so every Python process of the venv can
# import lobby_interfaces (and its type support libraries load) without sourcing anything.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(cd "${VENV:-.venv}" && pwd)
INSTALL=$PWD/install/ros

export AMENT_PREFIX_PATH=$VENV CMAKE_PREFIX_PATH=$VENV PATH=$VENV/bin:$PATH
echo "setup: building robot_ws with colcon"
colcon --log-base build/log build --base-paths robot_ws/src --build-base build/ros \
  --install-base "$INSTALL" \
  --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF

# Runs at interpreter start, before ros_wheels_bootstrapper.pth (alphabetical order), which
# re-executes Python once with LD_LIBRARY_PATH: so our library path is part of that.
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PYVER=$("$VENV/bin/python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')
cat > "$SITE/00_lobbybot_robot_ws.pth" <<PTH
$INSTALL/lobby_interfaces/lib/$PYVER/site-packages
import os; exec("def _ws(prefixes):\n for prefix in prefixes:\n  for var, value in (('AMENT_PREFIX_PATH', prefix), ('LD_LIBRARY_PATH', prefix + '/lib')):\n   parts = [p for p in os.environ.get(var, '').split(os.pathsep) if p]\n   if value not in parts: os.environ[var] = os.pathsep.join([value] + parts)\n_ws(['$INSTALL/lobby_interfaces', '$INSTALL/lobby_bringup'])")
PTH
echo "setup: robot_ws built and registered in $SITE/00_lobbybot_robot_ws.pth"

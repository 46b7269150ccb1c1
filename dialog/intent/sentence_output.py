"""Give the intent network's ONNX graph a second output: the sentence vector.

The network computes a unit 512-d sentence vector (the fine-tuned Universal Sentence
Encoder) before it joins the n-grams. The fraud guard and the knowledge retrieval read that
same vector, so the utterance is encoded once for all three. Training calls ``expose`` on
the INT8 model it writes; ``python -m dialog.intent.sentence_output`` adds the output to the
shipped model in place (needs the ``onnx`` package of the train extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

OUTPUT = "sentence"
SCOPE = "/encoder/"


def expose(path: Path) -> None:
    """Add the output ``sentence`` (batch, 512) to the model at ``path``, in place."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    graph = model.graph
    if any(o.name == OUTPUT for o in graph.output):
        return
    # The encoder's result is the last tensor its scope produces (graph nodes are in
    # topological order); the head reads it next.
    produced = [out for node in graph.node for out in node.output if out.startswith(SCOPE)]
    if not produced:
        raise ValueError(f"{path}: no node in {SCOPE} scope: not the intent network")
    graph.node.append(helper.make_node("Identity", [produced[-1]], [OUTPUT],
                                       name="sentence_output"))
    graph.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT,
                                                      ["batch", 512]))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


if __name__ == "__main__":
    from .model import MODEL_DIR

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL_DIR / "intent.int8.onnx"
    expose(target)
    print(f"{target}: output {OUTPUT!r} added")

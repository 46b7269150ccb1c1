"""INT8 for the exported intent network (training only; the product just loads the result).

Every matrix product is quantized by ``onnxruntime.quantization.quantize_dynamic`` (INT8
weights per output channel, activations to 8 bits with one scale per tensor at run time)
except the first one, the projection of the piece vectors (``pieces`` × 512×768). A few
large components of those vectors set a per-tensor activation scale too coarse for the
rest, and nearly all the INT8/torch disagreement was there (docs/intent-model.md, session
12). That product gets 8-bit weights in blocks of 128 with its activations quantized per
block too (``MatMulNBits``, ``accuracy_level`` 4 = int8 compute): same size and speed, and
the disagreement with torch on dev fell from 0.4–0.8 % to 0.1–0.4 % over four networks.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

BLOCK = 128
INT8_COMPUTE = 4  # MatMulNBits accuracy_level: activations to int8 per block


def piece_projection(model) -> str:
    """Name of the MatMul that reads the graph input ``pieces``."""
    names = [n.name for n in model.graph.node if n.op_type == "MatMul" and "pieces" in n.input]
    if len(names) != 1:
        raise ValueError(f"expected one MatMul reading 'pieces', found {names}")
    return names[0]


def quantize(fp32: Path, out: Path) -> None:
    """Write the INT8 network for ``fp32`` to ``out``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    # It logs every node it skips at INFO.
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    first = piece_projection(onnx.load(str(fp32)))
    with tempfile.TemporaryDirectory() as tmp:
        dynamic = Path(tmp) / "dynamic.onnx"
        quantize_dynamic(str(fp32), str(dynamic), weight_type=QuantType.QInt8,
                         per_channel=True, nodes_to_exclude=[first])
        blockwise = MatMulNBitsQuantizer(onnx.load(str(dynamic)), bits=8, block_size=BLOCK,
                                         is_symmetric=True, nodes_to_include=[first],
                                         accuracy_level=INT8_COMPUTE)
        blockwise.process()
        blockwise.model.save_model_to_file(str(out), use_external_data_format=False)

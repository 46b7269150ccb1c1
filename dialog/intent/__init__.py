"""The bilingual intent model: hashed n-gram features, a small MLP, INT8 ONNX at run time."""

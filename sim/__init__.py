"""Simulator: a CPU-only simulated branch lobby driving the real nodes (issue 7; not built yet)."""

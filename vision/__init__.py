"""Vision: faces of approaching customers and queue zones (issue 6; not built yet)."""

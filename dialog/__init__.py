"""Dialog brain: intent model, slots, dialog manager, grounded answers (issue 3; not built yet)."""

"""Infrastructure nodes of the common package (the domain nodes live in their packages)."""

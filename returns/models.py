"""Returns models."""

"""Orders models."""

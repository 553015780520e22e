"""Fulfillment models."""

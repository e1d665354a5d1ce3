"""Sequences for marketing: list, versions, publish, preview."""

"""Doors for store systems: their files and feeds, mapped onto domain calls (DESIGN.md)."""

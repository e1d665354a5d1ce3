"""Leads: capture, read, timeline, events."""

"""Campaigns for marketing: create, preview, start, progress, cancel."""

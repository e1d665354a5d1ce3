"""Insight: the metric registry, the plain-words question parser and CSV exports.

Reads the database through `db/` (and `core/` words); never workflows, activities, the API or
the console, which all read it. One registry (`insight.registry`) defines every number once:
dashboards, CSV exports, questions and the weekly email ask it, never write their own SQL.
"""

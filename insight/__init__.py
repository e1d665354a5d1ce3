"""Insight: what the records say, read from the database (never from workflows).

Dashboards, exports, questions and the weekly email read the same definitions here.
"""

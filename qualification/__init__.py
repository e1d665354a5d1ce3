"""Qualification: who a lead is (segment), how likely they are to buy (score), who should call.

Pure functions only: no Temporal, database, API or vendor SDKs. Activities gather the facts,
these functions decide, and the decisions carry their reasons.
"""

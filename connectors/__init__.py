"""Doors for store systems: Facet's signed contract, Shopify, Meta lead forms.

Each module checks its system's signature over the raw body, reads its words and calls the
domain (`find_or_create_lead`, `record_sale`, `record_lead_event`, `intake.capture`); none
holds a rule another door needs. The API routes in `api/integrations` are their HTTP edge.
"""

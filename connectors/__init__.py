"""Doors for store systems: Facet's signed contract, Shopify, Meta lead forms, CSV files and
Valigara's catalogue.

Each module checks its system's signature over the raw body (or reads its file or feed),
maps its words and calls the domain (`find_or_create_lead`, `record_sale`,
`record_lead_event`, `intake.capture`); none holds a rule another door needs. The API routes
in `api/integrations` and `api/imports` are their HTTP edge.
"""

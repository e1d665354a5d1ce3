"""Providers: what carries a message out of Facet, one package per vendor.

Every provider has one interface (`Provider.send(message) -> ProviderReceipt`); a `Registry`
says which provider carries each channel. A vendor's package holds all Facet knows of that
vendor: its outbound adapter (`adapter.py`, the only module importing its SDK) and what its
webhooks mean (`webhook.py`: signature check and status map, importable without the SDK, so
the API reads webhooks without being able to send). Adding a vendor is a package here and
one line in `registry.py`.
"""

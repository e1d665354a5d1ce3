"""GET /healthz: can this API reach its database and Temporal?"""

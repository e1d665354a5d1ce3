"""The data layer: SQLAlchemy 2 models, the session/unit of work, and repositories."""

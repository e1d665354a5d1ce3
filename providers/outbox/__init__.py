"""The outbox: the dry-run provider every channel uses until a vendor's keys are set."""

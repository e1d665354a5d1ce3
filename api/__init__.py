"""The thin HTTP API: validates, writes the event row, starts or signals workflows."""

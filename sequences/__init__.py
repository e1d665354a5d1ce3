"""The sequence language marketing writes, its library, and pure timing helpers. No I/O."""

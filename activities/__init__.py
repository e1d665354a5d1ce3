"""Activities: every piece of I/O a workflow needs, as classes with injected dependencies."""

"""Admin routes for the learned score: refit now, and the record of every refit."""

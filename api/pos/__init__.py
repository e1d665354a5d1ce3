"""POS and store-system hooks: purchases and custom-order job status."""

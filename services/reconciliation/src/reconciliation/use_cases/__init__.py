"""What the reconciliation service does, one module per intent; use cases never commit."""

"""What the payments service does, one module per intent; use cases never commit."""

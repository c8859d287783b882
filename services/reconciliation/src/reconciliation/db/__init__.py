"""The reconciliation service's tables, repositories and unit of work."""

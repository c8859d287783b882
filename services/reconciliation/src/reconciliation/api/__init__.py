"""The reconciliation service's HTTP edge."""

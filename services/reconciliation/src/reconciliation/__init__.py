"""The reconciliation service of filet."""

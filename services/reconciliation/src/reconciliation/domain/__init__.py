"""The rules of reconciliation: matching, the cycle summary and the audit chain. No I/O, no framework."""

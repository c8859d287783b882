"""The payments service: transfer schemes, payment cycles, provider adapters and vouchers."""

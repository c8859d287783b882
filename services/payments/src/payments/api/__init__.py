"""The payments service's HTTP edge."""

"""The payments service's tables, repositories and unit of work."""

"""Adapters that speak each mobile-money dialect and normalise what providers say into canonical events."""

"""Statements from banks and operators (camt.053, MT940, operator CSV) read into one canonical shape, and checked."""

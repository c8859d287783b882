"""The rules of enrolment: households, imports, duplicates, programmes and the enrolment lifecycle."""

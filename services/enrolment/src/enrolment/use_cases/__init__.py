"""What the enrolment service does, one module per intent; use cases never commit."""

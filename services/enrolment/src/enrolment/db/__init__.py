"""The enrolment service's tables, repositories and unit of work."""

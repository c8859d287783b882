"""The enrolment service of filet."""

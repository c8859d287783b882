"""The enrolment service's HTTP edge."""

"""Delivery of saved bookings to the providers: the schedule (the booking row and
waking it), sending (claim, send, apply the outcome), the sweep, the staff actions, the
credential lifecycle and its admin page, redaction, the threaded worker, and the
django-tasks-db housekeeping."""

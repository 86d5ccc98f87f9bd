"""Delivery of saved bookings to the broker systems: the schedule (the booking row and
waking it), the engine (claim, send, apply the outcome, sweep, staff actions), the
credential lifecycle and its admin page, redaction, the threaded worker, and the
django-tasks-db housekeeping."""

"""Delivery of saved bookings to the broker systems: engine, sweep, staff actions,
credential lifecycle, redaction."""

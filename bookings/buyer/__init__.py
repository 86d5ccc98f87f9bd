"""The buyer's side after booking: the private status page (state, calendar file, cancel)
and the one email when a booking cannot go ahead."""

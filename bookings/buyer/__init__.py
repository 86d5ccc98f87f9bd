"""The buyer's side after booking: the private status page (state, calendar file, cancel)
and the buyer's emails (receipt, cannot go ahead, went after all)."""

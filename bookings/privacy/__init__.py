"""Buyers' personal data as the agencies, its controllers, must handle it: the
data-subject requests (subject.py: find, export and erase everything stored under one
email) and retention (retention.py: anonymise and prune by age, in short batches). The
admin pages (admin.py) and the commands `erase_buyer` and `apply_retention` only call these."""

"""Viewings read from the providers: import (service.py), sync (sync.py), the MSPECS
webhook receiver (webhooks.py) and the nightly catch-up of missed events (nightly.py). What
each system answers is read in bookings/providers/."""

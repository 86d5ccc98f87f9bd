"""Viewings read from the broker systems: import (service.py), sync (sync.py) and the MSPECS
webhook receiver (webhooks.py). What each system answers is read in bookings/providers/."""

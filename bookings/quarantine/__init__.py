"""The MSPECS quarantine mirror: queries and admin views."""

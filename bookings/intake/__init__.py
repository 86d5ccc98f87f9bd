"""Intake: the one service that accepts a booking, and its doors (public page, JSON API)."""

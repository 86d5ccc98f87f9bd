"""Delivery of bookings to the broker systems (outbox -> provider, retry policy)."""


def deliver(booking_id: int) -> str:
    raise NotImplementedError("delivery engine: issue #3")

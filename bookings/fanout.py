"""Calls to the providers, one per deal or estate, on worker threads with bounded
concurrency overall and per agency, and back-off when a provider says it is busy.

Slot polling (bookings/polling.py) and viewing sync (bookings/viewing_import/sync.py) both
run their calls through `call_each`. Worker threads only make HTTP calls; results come back
to the calling thread, which does every database read and write, so no connection crosses
threads.
"""

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

# A provider asking for longer than this is treated as an error in its header.
MAX_BACK_OFF_SECONDS = 60.0
# Calls of one item that come back "busy" before the item's outcome is that error.
MAX_TRIES = 3


class PerAgency(Protocol):
    agency_id: int


def call_each[Item: PerAgency](
    items: list[Item],
    call: Callable[[Item], object],
    *,
    concurrency: int,
    per_agency: int,
) -> Iterator[tuple[Item, object]]:
    """Start calling at once; iterating the result gives (item, outcome) for every item as
    its call finishes: what `call(item)` returned or the exception it raised. An exception
    with a `retry_after` (seconds, e.g. a 429's Retry-After) pauses that agency's calls that
    long and calls the item again, up to MAX_TRIES times."""
    pending: dict[int, list[Item]] = defaultdict(list)
    for item in reversed(items):  # popped from the end: in the given order
        pending[item.agency_id].append(item)
    dispatcher = _Dispatcher(pending, per_agency)
    outcomes: queue.SimpleQueue = queue.SimpleQueue()
    tries: dict[int, int] = defaultdict(int)

    def work():
        while (item := dispatcher.next_item()) is not None:
            try:
                outcome = call(item)
            except Exception as error:  # the item's outcome; the others go on
                outcome = error
            tries[id(item)] += 1
            back_off = getattr(outcome, "retry_after", None)
            if back_off is not None and tries[id(item)] < MAX_TRIES:
                dispatcher.finished(item, back_off=min(back_off, MAX_BACK_OFF_SECONDS))
                continue
            dispatcher.finished(item)
            outcomes.put((item, outcome))

    # Started here, not on the first next(): the caller reads the database meanwhile.
    workers = max(1, min(concurrency, len(items)))
    pool = ThreadPoolExecutor(workers)
    for _ in range(workers):
        pool.submit(work)
    pool.shutdown(wait=False)  # the threads end when the items do

    def results() -> Iterator[tuple[Item, object]]:
        for _ in range(len(items)):
            yield outcomes.get()

    return results()


class _Dispatcher:
    """Hands worker threads the next item whose agency is below its concurrency bound and
    not paused by a back-off."""

    def __init__(self, pending: dict[int, list], per_agency: int):
        self.pending = pending
        self.per_agency = per_agency
        self.running: dict[int, int] = defaultdict(int)  # agency id -> calls in flight
        self.paused_until: dict[int, float] = {}  # agency id -> time.monotonic()
        self.changed = threading.Condition()

    def next_item(self):
        """The next item of the agency with the most left to do, so that agencies finish
        together instead of one agency's items running alone, bound, at the end."""
        with self.changed:
            while any(self.pending.values()) or any(self.running.values()):
                now = time.monotonic()
                ready = [
                    agency_id
                    for agency_id, items in self.pending.items()
                    if items
                    and self.running[agency_id] < self.per_agency
                    and self.paused_until.get(agency_id, 0) <= now
                ]
                if ready:
                    agency_id = max(ready, key=lambda a: len(self.pending[a]))
                    self.running[agency_id] += 1
                    return self.pending[agency_id].pop()
                if not any(self.pending.values()):
                    return None  # what is left is running on other threads
                pauses = [
                    until - now
                    for agency_id, until in self.paused_until.items()
                    if until > now and self.pending[agency_id]
                ]
                self.changed.wait(min(pauses) if pauses else None)
            return None

    def finished(self, item, back_off: float | None = None) -> None:
        """The item's call is done; with `back_off`, its agency pauses and it is called again."""
        with self.changed:
            self.running[item.agency_id] -= 1
            if back_off is not None:
                self.paused_until[item.agency_id] = time.monotonic() + back_off
                self.pending[item.agency_id].append(item)
            self.changed.notify_all()

"""The booking statuses' one vocabulary: templates test flags, never a status as a string;
a group of statuses is a named member of BookingStatus (bookings/models/status.py), not a
list written out elsewhere; and the staff actions the admin offers are the state table's."""

import ast
import re

from bookings.admin.booking_actions import BOOKING_ACTIONS
from bookings.models import Booking
from bookings.models.status import STAFF_TRANSITIONS
from config.settings import BASE_DIR

Status = Booking.Status

# `status == "…"`, `state != '…'`, `"…" == booking.status`, in any template tag.
STATUS_COMPARED_TO_LITERAL = re.compile(
    r"""\b\w*stat(?:us|e)\s*[!=]=\s*["']|["']\s*[!=]=\s*[\w.]*\bstat(?:us|e)\b"""
)


def test_no_template_compares_a_status_to_a_string():
    offending = [
        f"{path.relative_to(BASE_DIR)}: {match.group(0)}"
        for path in (BASE_DIR / "templates").rglob("*")
        if path.is_file()
        for match in STATUS_COMPARED_TO_LITERAL.finditer(path.read_text())
    ]

    assert offending == []


def names_a_status(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr in Status.names
        and isinstance(node.value, ast.Name | ast.Attribute)
        and (node.value.id if isinstance(node.value, ast.Name) else node.value.attr) == "Status"
    )


def test_status_groups_are_declared_only_on_booking_status():
    offending = []
    for path in (BASE_DIR / "bookings").rglob("*.py"):
        if path == BASE_DIR / "bookings/models/status.py" or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.List | ast.Tuple | ast.Set) and (
                sum(names_a_status(element) for element in node.elts) > 1
            ):
                offending.append(f"{path.relative_to(BASE_DIR)}:{node.lineno}")

    assert offending == []


def test_the_admin_offers_an_action_where_the_state_table_allows_it():
    for name in BOOKING_ACTIONS:
        for status in Status:
            booking = Booking(status=status, cancellation_requested_at="2026-01-01T00:00Z")

            assert BOOKING_ACTIONS[name].fits(booking) == (
                status in STAFF_TRANSITIONS[name].sources
            )

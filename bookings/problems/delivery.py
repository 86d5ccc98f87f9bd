"""What went wrong delivering a booking or polling slots, as codes with parameters (see
agencies/problems.py). Every parameter taken from a provider's answer goes through
bookings.delivery.redaction.redact_answer before it is stored."""

from django.utils.translation import gettext_lazy as _

from agencies.problems import define

# --- one call to a provider, described ------------------------------------------------

HTTP_STATUS = define("http_status", _("HTTP %(status)s"))
HTTP_STATUS_SAID = define("http_status_said", _("HTTP %(status)s: %(message)s"))
READ_TIMEOUT = define("read_timeout", _("no answer in time (read timeout)"))
CONNECTION_FAILED = define("connection_failed", _("connection failed (%(error)s)"))
ADDRESS_NOT_ALLOWED = define("address_not_allowed", _("Not sent to %(url)s: %(reason)s"))
ADDRESS_INSIDE_NETWORK = define(
    "address_inside_network",
    _(
        "Not sent to %(url)s: %(host)s resolves to %(address)s, an address inside a "
        "network, which only a host in BROKER_ALLOWED_HOSTS may have."
    ),
)

# --- delivery --------------------------------------------------------------------------------

NO_CREDENTIAL = define("no_credential", _("The agency has no broker-system credential."))
CREDENTIAL_FAILING = define(
    "credential_failing", _("Not sent: the agency's broker-system credential is failing.")
)
INTERNAL_ERROR = define(
    "internal_error", _("Internal error while sending; see the worker log, then re-send.")
)
ADDRESS_REFUSED = define(
    "address_refused",
    _("%(refusal)s Correct the credential's base URL, then test the connection."),
)
MAY_HAVE_SAVED = define(
    "may_have_saved",
    _(
        "No answer (%(answer)s); the broker system may have saved the booking. Check it "
        "there, then re-send or mark it delivered."
    ),
)
UNREACHABLE = define("unreachable", _("Broker system unreachable: %(answer)s."))
CREDENTIAL_REFUSED = define(
    "credential_refused",
    _("The broker system refused the agency's credential (HTTP %(status)s)."),
)
REDIRECTED = define(
    "redirected",
    _(
        "The broker system's address redirects (HTTP %(status)s to %(location)s); correct "
        "the base URL in the credential, then re-send."
    ),
)
BUSY = define("busy", _("Broker system busy or failing (HTTP %(status)s)."))
GONE = define(
    "gone",
    _(
        "The viewing or slot no longer exists in the broker system (HTTP 404). Move the "
        "booking to another viewing or slot, or cancel it."
    ),
)
SLOT_FULL = define("slot_full", _("The slot is fully booked in the broker system."))
DATA_REJECTED = define("data_rejected", _("The broker system rejected the data: %(errors)s"))
BOOKING_REJECTED = define(
    "booking_rejected", _("The broker system rejected the booking (HTTP %(status)s).")
)
BOOKING_REJECTED_SAYING = define(
    "booking_rejected_saying",
    _("The broker system rejected the booking (HTTP %(status)s): %(message)s"),
)
GAVE_UP = define("gave_up", _("%(problem)s Gave up after %(attempts)s attempts."))
SLOT_STARTED = define("slot_started", _("Not delivered before its slot started; no longer sent."))
VIEWING_STARTED = define(
    "viewing_started", _("Not delivered before the viewing started; no longer sent.")
)
ANSWERS_LOST = define(
    "answers_lost",
    _(
        "%(posts)s posts got no answer; the broker system most likely saved the booking. "
        "Check it there, then mark it delivered or re-send."
    ),
)
CIRCUIT_OPEN = define(
    "circuit_open",
    _(
        "Held: the broker system failed %(failures)s times in a row (%(answer)s). One booking "
        "at a time tests it; the rest go as soon as one gets through."
    ),
)
VIEWING_REMOVED = define(
    "viewing_removed",
    _(
        "Not sent: the viewing is no longer listed in the broker system. "
        "Move the booking to another viewing, or cancel it."
    ),
)
SLOT_UNBOOKABLE = define(
    "slot_unbookable",
    _(
        "Not sent: the slot is fully booked or no longer listed in the broker system. "
        "Move the booking to another slot, or cancel it."
    ),
)
# Written by migration 0018 (one live booking per buyer and viewing) on the later of two.
SET_ASIDE_SECOND_LIVE_BOOKING = define(
    "set_aside_second_live_booking",
    _(
        "Set aside: the same buyer as booking %(booking)s of this viewing (one live booking "
        "per buyer and viewing, whatever the time). If both were delivered, the broker "
        "system may list the buyer twice."
    ),
)
ACCEPTED_AFTER_DEADLINE = define(
    "accepted_after_deadline",
    _(
        "Not sent: the booking was taken after the viewing's booking deadline (%(deadline)s), "
        "which the broker system moved earlier. Check with the broker, then re-send or cancel."
    ),
)

# --- a worker that stopped (found by the sweep) ------------------------------------------------

# No longer made (a claim now marks the send: bookings/delivery/sending.py); kept so that
# bookings recovered before still read as they did.
STOPPED_BEFORE_SENDING = define(
    "stopped_before_sending", _("The worker stopped before sending; queued again.")
)
STOPPED_MAY_HAVE_SAVED = define(
    "stopped_may_have_saved",
    _(
        "The worker stopped while sending; the broker system may have saved the booking. "
        "Check it there, then re-send or mark it delivered."
    ),
)
STOPPED_SENDING_AGAIN = define(
    "stopped_sending_again", _("The worker stopped while sending; sending again.")
)

# --- slot polling (MSPECS) ---------------------------------------------------------------------

POLL_WAITS_FOR_CREDENTIAL = define(
    "poll_waits_for_credential",
    _("Polling waits for the broker-system credential to be fixed: the broker system refused it."),
)
POLL_FAILED = define("poll_failed", _("Slot status for deal %(deal)s failed: %(answer)s"))
POLL_UNEXPECTED_BODY = define(
    "poll_unexpected_body", _("Slot status for deal %(deal)s: unexpected body")
)

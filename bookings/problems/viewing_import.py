"""What went wrong reading a deal or estate from a provider, as codes with parameters
(see agencies/problems.py), shown to staff on the import page and on synced viewings."""

from django.utils.translation import gettext_lazy as _

from agencies.problems import define

SOURCE_NOT_FOUND = define(
    "source_not_found",
    _("%(source)s is not known to the broker system (HTTP 404). Check the id and try again."),
)
SOURCE_REFUSED = define(
    "source_refused",
    _(
        "The broker system refused the agency's credential (HTTP %(status)s). Correct the "
        "credential, then try again."
    ),
)
SOURCE_UNEXPECTED = define(
    "source_unexpected",
    _(
        "The broker system's answer for %(source)s has an unexpected shape (%(detail)s); "
        "nothing was changed."
    ),
)
SOURCE_UNPUBLISHED = define(
    "source_unpublished",
    _(
        "%(source)s is not published in the broker system (HTTP 404): it was unpublished, "
        "or the id is not known there."
    ),
)
SOURCE_SOLD = define("source_sold", _("%(source)s is sold in the broker system."))
SOURCE_CLOSED = define(
    "source_closed",
    _(
        "%(reason)s Its viewings are closed for booking, and bookings still waiting to be "
        "sent are set aside."
    ),
)
SOURCE_UNREACHABLE = define(
    "source_unreachable",
    _("The broker system could not be read for %(source)s: %(answer)s. Try again later."),
)
SOURCE_NO_CREDENTIAL = define(
    "source_no_credential", _("The agency has no broker-system credential to read it with.")
)
SOURCE_WAITS_FOR_CREDENTIAL = define(
    "source_waits_for_credential",
    _("Not read: the agency's broker-system credential is failing; fix it first."),
)
NOTHING_TO_IMPORT = define(
    "nothing_to_import",
    _("%(source)s has no viewing with a time that buyers can book; nothing was imported."),
)

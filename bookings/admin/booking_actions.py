"""The staff actions of bookings.delivery.staff_actions on bookings, as the booking admin offers
them: bulk on the list, as buttons on a booking's page, and the refusal to bulk-delete a
delivered booking."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookings.audit import By, Door
from bookings.delivery import staff_actions
from bookings.models import Booking
from bookings.models.status import STAFF_TRANSITIONS


@dataclass(frozen=True)
class BookingAction:
    """A staff action of bookings.delivery.staff_actions, as the admin offers it: on the booking
    list (bulk) and as a button on a booking's page when the booking's status is among the
    action's sources in the state table (STAFF_TRANSITIONS)."""

    run: Callable
    label: Promise
    confirm: bool  # ask on a booking's page too (bulk actions always ask for several)
    destructive: bool = False
    # Only for a booking whose buyer asked to cancel it (on their status page).
    when_buyer_asked: bool = False

    @property
    def name(self) -> str:
        return self.run.__name__

    def fits(self, booking: Booking) -> bool:
        return booking.status in STAFF_TRANSITIONS[self.name].sources and (
            not self.when_buyer_asked or booking.cancellation_requested_at is not None
        )


BOOKING_ACTIONS = {
    action.name: action
    for action in [
        BookingAction(staff_actions.send_now, _("Send now"), confirm=False),
        BookingAction(staff_actions.resend, _("Re-send"), confirm=False),
        BookingAction(
            staff_actions.cancel,
            _("Cancel booking"),
            confirm=True,
            destructive=True,
        ),
        BookingAction(
            staff_actions.cancel_as_the_buyer_asked,
            _("Cancel as the buyer asked (removed in the broker system)"),
            confirm=True,
            destructive=True,
            when_buyer_asked=True,
        ),
        BookingAction(
            staff_actions.mark_delivered,
            _("Mark as delivered (checked in the broker system)"),
            confirm=True,
        ),
    ]
}


def confirm_action_page(modeladmin, request, action, bookings, form_url=""):
    """Django admin's confirmation page, for one booking or several."""
    return TemplateResponse(
        request,
        "admin/bookings/booking/confirm_delivery_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": _("Are you sure?"),
            "opts": modeladmin.model._meta,
            "action": action,
            "bookings": bookings,
            "form_url": form_url,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


def bulk_action(action: BookingAction):
    """The booking-list action: a confirmation page when more than one booking is
    selected, then a message saying what was done."""

    @admin.action(description=action.label, permissions=["change"])
    def run(modeladmin, request, queryset):
        if len(queryset) > 1 and not request.POST.get("post"):
            return confirm_action_page(modeladmin, request, action, queryset)
        result = action.run(queryset, By(request.user, Door.LIST))
        level = messages.WARNING if result.skipped else messages.SUCCESS
        modeladmin.message_user(request, result.message, level)
        return None

    run.__name__ = action.name
    return run


def refuse_delivered(delete_selected):
    """Django's bulk delete, refusing a selection with a delivered booking in it."""

    def delete_unless_delivered(modeladmin, request, queryset):
        delivered = queryset.filter(status=Booking.Status.DELIVERED).count()
        if delivered:
            modeladmin.message_user(
                request,
                ngettext(
                    "Nothing was deleted: %(count)d selected booking is delivered, so it is "
                    "in the broker system. Erase a buyer's personal data with the erasure "
                    "tool instead.",
                    "Nothing was deleted: %(count)d selected bookings are delivered, so they "
                    "are in the broker system. Erase a buyer's personal data with the erasure "
                    "tool instead.",
                    delivered,
                )
                % {"count": delivered},
                messages.ERROR,
            )
            return None
        return delete_selected(modeladmin, request, queryset)

    delete_unless_delivered.__name__ = "delete_selected"
    return delete_unless_delivered

"""Every admin page of the bookings app, registered here and only here: each module of this
package and the feature packages' admin modules define their ModelAdmins, and Django's
admin autodiscovery imports this module to register them (tests/test_app_boundaries.py
holds that no other module registers one)."""

from django.contrib import admin

from agencies.models import ProviderCredential
from bookings.admin.attempts import DeliveryAttemptAdmin
from bookings.admin.bookings import BookingAdmin
from bookings.admin.idempotent_requests import IdempotentRequestAdmin
from bookings.admin.quarantine import QuarantineDecisionAdmin
from bookings.admin.viewings import ViewingAdmin, ViewingSlotAdmin
from bookings.admin.webhooks import WebhookEventAdmin
from bookings.delivery.admin import ProviderCredentialAdmin
from bookings.models import (
    Booking,
    DataRequest,
    DeliveryAttempt,
    IdempotentRequest,
    QuarantineDecision,
    Viewing,
    ViewingSlot,
    WebhookEvent,
)
from bookings.privacy.admin import DataRequestAdmin

admin.site.register(Viewing, ViewingAdmin)
admin.site.register(ViewingSlot, ViewingSlotAdmin)
admin.site.register(Booking, BookingAdmin)
admin.site.register(DeliveryAttempt, DeliveryAttemptAdmin)
admin.site.register(QuarantineDecision, QuarantineDecisionAdmin)
admin.site.register(IdempotentRequest, IdempotentRequestAdmin)
admin.site.register(WebhookEvent, WebhookEventAdmin)
admin.site.register(DataRequest, DataRequestAdmin)
# The provider credential is agencies' model; its page drives delivery's credential
# lifecycle, which agencies may not import (bookings/delivery/admin.py).
admin.site.register(ProviderCredential, ProviderCredentialAdmin)

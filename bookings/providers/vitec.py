"""Vitec Express Connect API: add a viewing participant (docs/vitec.md)."""

from typing import TYPE_CHECKING
from urllib.parse import quote

from requests.structures import CaseInsensitiveDict

from bookings.providers.base import CallRecord, ProviderClient, normalise_errors

if TYPE_CHECKING:
    from bookings.models import Booking

# The ModelState key Vitec uses when booking-limit validation finds the slot full (in
# whatever case the API answers it).
BOOKING_LIMIT_ERROR = "bookinglimit"


class VitecClient(ProviderClient):
    # Adding a participant is not idempotent: a second post adds a second participant.
    resend_is_safe = False

    @property
    def connection_check_endpoint(self) -> str:
        # Vitec documents no read, so assumed (docs/vitec.md): an authenticated GET under the
        # customer answers 401 for a bad login and 403 for a customer we may not use.
        # Anything else (404, as the sandbox answers) does not prove the login was checked.
        return f"/Viewing/{quote(self.credential.vitec_customer_id, safe='')}"

    def delivery_request(self, booking: "Booking") -> tuple[str, dict]:
        credential = self.credential
        endpoint = "/Viewing/{}/{}/{}/Participant".format(
            *(
                quote(part, safe="")
                for part in (
                    credential.vitec_customer_id,
                    booking.viewing.provider_viewing_id,
                    booking.slot.provider_slot_id,
                )
            )
        )
        person = {
            "firstName": booking.first_name,
            "lastName": booking.last_name,
            "email": {"emailAddress": booking.email},
            "cellPhone": booking.phone,
        }
        # The consent time intake stored (docs/vitec.md); staff-entered bookings have none.
        if booking.consent_given_at:
            person["gdprApprovalDate"] = booking.consent_given_at.isoformat()
        body = {
            "updatePerson": person,
            "contactMessage": booking.message,
            "reminderTime": credential.vitec_reminder_minutes,
            "smsReminder": credential.vitec_sms_reminder,
            "mailConfirmation": credential.vitec_mail_confirmation,
            "smsConfirmation": credential.vitec_sms_confirmation,
            "returnBookingId": True,
            "options": {
                "isDeadlineValidationEnabled": credential.vitec_deadline_validation,
                "enableBookingLimitValidation": credential.vitec_booking_limit_validation,
            },
        }
        if credential.vitec_lead_source_id:
            body["leadSourceId"] = credential.vitec_lead_source_id
        return endpoint, body

    def reference(self, record: CallRecord) -> str:
        # With returnBookingId the answer is the booking id as a JSON string.
        return record.body if isinstance(record.body, str) else ""

    def field_errors(self, record: CallRecord) -> dict[str, list[str]]:
        # ASP.NET answers "ModelState"/"Message" or, with camel-case JSON, "modelState"/"message".
        body = CaseInsensitiveDict(record.body if isinstance(record.body, dict) else {})
        errors = normalise_errors(body.get("ModelState"))
        if not errors and body.get("Message"):
            errors = {"": [str(body["Message"])]}
        return errors

    def slot_is_full(self, errors: dict[str, list[str]]) -> bool:
        return any(name.lower() == BOOKING_LIMIT_ERROR for name in errors)

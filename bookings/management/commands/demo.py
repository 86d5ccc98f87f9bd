from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, BrokerSystem, Membership, ProviderCredential
from bookings.consent import record_consent
from bookings.delivery import problems
from bookings.delivery.credentials import save_credential
from bookings.intake.service import accept_booking
from bookings.models import Booking, Viewing, ViewingSlot

SANDBOX_USERNAME = "sandbox"
SANDBOX_SECRET = "sandbox-secret"
SANDBOX_VITEC_CUSTOMER = "sandbox-customer"

# (first, last, email, phone as typed, status, last problem)
BUYERS = [
    ("Anna", "Andersson", "anna.andersson@example.se", "070-111 11 11", "delivered", None),
    ("Björn", "Berg", "bjorn.berg@example.se", "+46 70 222 22 22", "queued", None),
    (
        "Cecilia",
        "Carlsson",
        "cecilia@example.se",
        "0733-33 33 33",
        "rejected",
        problems.DATA_REJECTED(errors="phone: Invalid phone number."),
    ),
    (
        "David",
        "Dahl",
        "david.dahl@example.se",
        "0704444444",
        "failed",
        problems.GAVE_UP(problem=problems.UNREACHABLE(answer=problems.READ_TIMEOUT()), attempts=6),
    ),
    # The same buyer again: a booking of hers that stood would be refused as a duplicate.
    ("Anna", "Andersson-Ek", "anna.andersson@example.se", "070-555 55 55", "cancelled", None),
]


class Command(BaseCommand):
    help = (
        "Load demo data wired to the sandbox broker systems (safe to run again) and print "
        "the login."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default="viewing-bridge-demo")

    @transaction.atomic
    def handle(self, password, **options):
        if not settings.DEBUG:
            # It resets the `admin` superuser's password to a published one.
            raise CommandError("The demo is for development only; DEBUG is off.")
        sandbox_url = f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"
        mspecs = self.agency(
            "Mäklarhuset Demo", "maklarhuset-demo", BrokerSystem.MSPECS, sandbox_url
        )
        vitec = self.agency(
            "Vitec Mäkleri Demo",
            "vitec-makleri-demo",
            BrokerSystem.VITEC,
            sandbox_url,
            vitec_customer_id=SANDBOX_VITEC_CUSTOMER,
        )
        tomorrow = timezone.localtime().replace(hour=17, minute=0, second=0, microsecond=0)
        tomorrow += timedelta(days=1)
        ordinary = self.viewing(mspecs, "MSP-1001", "Storgatan 1, Stockholm", tomorrow)
        slotted = self.viewing(
            mspecs,
            "MSP-1002",
            "Sveavägen 20, Stockholm",
            tomorrow + timedelta(days=1),
            viewing_type=Viewing.Type.TIME_SLOTS,
            mspecs_deal_id="DEAL-1002",
        )
        self.slot(slotted, "MSP-1002-S1", 0, number_booked=2)
        self.slot(slotted, "MSP-1002-S2", 1, number_booked=4, fully_booked=True)
        vitec_viewing = self.viewing(vitec, "VIT-2001", "Kungsgatan 5, Göteborg", tomorrow)
        vitec_slot = self.slot(vitec_viewing, "VIT-2001-T1", 0)

        for viewing, slot in [(ordinary, None), (vitec_viewing, vitec_slot)]:
            for first, last, email, phone, status, problem in BUYERS:
                self.booking(viewing, slot, first, last, email, phone, status, problem)

        admin = self.user("admin", password, is_superuser=True)
        for agency, username in [(mspecs, "mspecs-staff"), (vitec, "vitec-staff")]:
            user = self.user(username, password)
            Membership.objects.get_or_create(user=user, agency=agency)

        self.stdout.write(
            self.style.SUCCESS("Demo data ready.")
            + f"\n  Admin login: {admin.username} / {password}  (superuser)"
            + f"\n  Agency staff: mspecs-staff, vitec-staff / {password}"
            + "\n  Sandbox broker systems: "
            + sandbox_url
        )

    def agency(self, name, slug, broker_system, sandbox_url, **credential):
        """An agency with a credential for its system's sandbox server."""
        agency, _ = Agency.objects.update_or_create(
            slug=slug, defaults={"name": name, "broker_system": broker_system}
        )
        fields = {
            "base_url": f"{sandbox_url}/{broker_system}",  # the sandbox's /mspecs or /vitec
            "username": SANDBOX_USERNAME,
            "secret": SANDBOX_SECRET,
            **credential,
        }
        credential = ProviderCredential.objects.filter(agency=agency).first()
        credential = credential or ProviderCredential(agency=agency)
        for field, value in fields.items():
            setattr(credential, field, value)
        try:
            # The rules every door obeys: the sandbox must be an allowed broker-system host.
            credential.full_clean()
        except ValidationError as error:
            raise CommandError(
                f"The demo credential for {name} is refused: {' '.join(error.messages)} "
                f"The demo calls the sandbox broker systems at {sandbox_url}; allow them with "
                f"BROKER_ALLOWED_HOSTS=http://{settings.SANDBOX_HOST} (make run does)."
            ) from None
        save_credential(credential)
        return agency

    def viewing(self, agency, provider_id, title, starts_at, **fields):
        viewing, _ = Viewing.objects.update_or_create(
            agency=agency,
            provider_viewing_id=provider_id,
            defaults={
                "title": title,
                "address": title,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(hours=1),
                **fields,
            },
        )
        return viewing

    def slot(self, viewing, provider_id, index, **fields):
        starts_at = viewing.starts_at + timedelta(minutes=20 * index)
        slot, _ = ViewingSlot.objects.update_or_create(
            viewing=viewing,
            provider_slot_id=provider_id,
            defaults={
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(minutes=20),
                **fields,
            },
        )
        return slot

    def booking(self, viewing, slot, first, last, email, phone, status, problem):
        if Booking.objects.filter(viewing=viewing, first_name=first, last_name=last).exists():
            return
        booking = Booking(
            viewing=viewing,
            slot=slot,
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            source=Booking.Source.PUBLIC_PAGE,  # as buyers book, consent given
        )
        record_consent(booking)
        booking.status = status
        booking.full_clean()
        if status == Booking.Status.QUEUED:
            accept_booking(booking)  # the worker delivers it to the sandbox
            return
        booking.last_problem = problem
        booking.attempt_count = 6 if status == Booking.Status.FAILED else 1
        if status == Booking.Status.DELIVERED:
            booking.delivered_at = timezone.now()
        booking.save()

    def user(self, username, password, is_superuser=False):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = is_superuser
        user.set_password(password)
        user.save()
        return user

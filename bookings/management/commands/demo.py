"""Demo data that shows what the product does, also when things go wrong: every booking's
state is reached by really running the delivery engine against the sandbox providers,
steered through the sandbox's control API, so each booking's attempts explain its state."""

import errno
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, Membership, Provider, ProviderCredential
from bookings.audit import Actor, By, Door
from bookings.consent import record_consent
from bookings.delivery import sending, staff_actions
from bookings.delivery.credentials import check_credential, save_credential
from bookings.intake.service import accept_booking
from bookings.management.commands.sandbox import demo_start, seed_deals, seed_vitec_estates
from bookings.models import Booking, Viewing, ViewingSlot
from bookings.providers.vitec.demo import DEMO_ESTATE
from bookings.sandbox import SandboxProviders
from bookings.viewing_import.service import import_source

SANDBOX_USERNAME = "sandbox"
SANDBOX_SECRET = "sandbox-secret"
SANDBOX_VITEC_CUSTOMER = "sandbox-customer"
# The agency as MSPECS's subscriber: the provider API's `/api/...` routes (the published
# deals, a deal) answer only with it (docs/mspecs.md).
SANDBOX_MSPECS_SUBSCRIBER = "sandbox-subscriber"
# The demo breaks one agency's credential on purpose: the sandbox refuses this secret.
EXPIRED_SECRET = "expired-demo-secret"
# The retrying booking's provider asks to be called back in an hour.
RETRY_AFTER_SECONDS = 3600


def deliver_once(booking: Booking) -> None:
    sending.deliver(booking.pk)


def deliver_all_attempts(booking: Booking) -> None:
    """Every attempt of the retry schedule, without waiting for the delays. So many failures
    in a row would open the credential's circuit breaker and hold the booking; the demo lets
    this one run its whole schedule, to show a booking that failed."""
    attempts = len(settings.DELIVERY_RETRY_SCHEDULE) + 1
    with override_settings(CIRCUIT_BREAKER_THRESHOLD=attempts + 1):
        sending.deliver(booking.pk)
        while Booking.objects.filter(pk=booking.pk, status=Booking.Status.RETRYING).update(
            next_attempt_at=timezone.now()
        ):
            sending.deliver(booking.pk)


# (first, last, email, phone as typed, the sandbox's behaviour for its delivery, how it is
# driven; None: left queued for the worker `make run` starts)
MSPECS_BUYERS = [
    ("Anna", "Andersson", "anna.andersson@example.se", "070-111 11 11", {}, deliver_once),
    (
        "Björn",
        "Berg",
        "bjorn.berg@example.se",
        "+46 70 222 22 22",
        {"status": 503, "retry_after": RETRY_AFTER_SECONDS},
        deliver_once,
    ),
    (
        "Cecilia",
        "Carlsson",
        "cecilia@example.se",
        "0733-33 33 33",
        # A BadRequestError as MSPECS's own client reads it: staff see its words.
        {"status": 400, "body": {"message": "Invalid phone number."}},
        deliver_once,
    ),
    ("David", "Dahl", "david.dahl@example.se", "0704444444", {"status": 500}, deliver_all_attempts),
    ("Erik", "Ek", "erik.ek@example.se", "070-555 55 55", {}, None),
]
VITEC_BUYERS = [
    ("Fatima", "Fors", "fatima.fors@example.se", "070-666 66 66", {}, deliver_once),
    # The connection drops after Vitec got the booking: it may have added the participant.
    ("Gustav", "Gran", "gustav.gran@example.se", "070-777 77 77", {"mode": "drop"}, deliver_once),
]
# Ivar waits in the queue when Hanna's delivery finds the credential refused: both are held.
BROKEN_BUYERS = [
    ("Ivar", "Ivarsson", "ivar.ivarsson@example.se", "070-999 99 99", {}, None),
    ("Hanna", "Holm", "hanna.holm@example.se", "070-888 88 88", {}, deliver_once),
]


class Command(BaseCommand):
    help = (
        "Load demo data wired to the sandbox providers, with a booking in every state "
        "reached by the delivery engine (safe to run again), and print the logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default="viewing-bridge-demo")

    def handle(self, password, **options):
        if not settings.DEBUG:
            # It resets the `admin` superuser's password to a published one.
            raise CommandError("The demo is for development only; DEBUG is off.")
        try:
            sandbox = SandboxProviders(settings.SANDBOX_HOST, settings.SANDBOX_PORT)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise CommandError(
                f"Port {settings.SANDBOX_PORT} is in use: stop `manage.py sandbox` while the "
                "demo runs its own sandbox to deliver its bookings (make run starts the "
                "sandbox after the demo)."
            ) from None
        with sandbox:
            self.load(sandbox, password)

    @transaction.atomic
    def load(self, sandbox: SandboxProviders, password: str) -> None:
        sandbox_url = f"http://{settings.SANDBOX_HOST}:{settings.SANDBOX_PORT}"
        mspecs = self.agency(
            "Mäklarhuset Demo",
            "maklarhuset-demo",
            Provider.MSPECS,
            sandbox_url,
            mspecs_subscriber_id=SANDBOX_MSPECS_SUBSCRIBER,
        )
        vitec = self.agency(
            "Vitec Mäkleri Demo",
            "vitec-makleri-demo",
            Provider.VITEC,
            sandbox_url,
            vitec_customer_id=SANDBOX_VITEC_CUSTOMER,
        )
        broken = self.agency(
            "Trasiga Nyckeln Demo",
            "trasiga-nyckeln-demo",
            Provider.MSPECS,
            sandbox_url,
            mspecs_subscriber_id=SANDBOX_MSPECS_SUBSCRIBER,
            secret=EXPIRED_SECRET,
        )
        tomorrow = demo_start()
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
        # Vitec's estates in Vitec's shapes: one imported (as an administrator would), the
        # other left on the import page's list.
        seed_vitec_estates(sandbox, tomorrow)
        vitec_viewing = self.imported(vitec, DEMO_ESTATE)
        vitec_slot = vitec_viewing.slots.order_by("starts_at").first()
        broken_viewing = self.viewing(broken, "MSP-3001", "Hamngatan 3, Malmö", tomorrow)
        seed_deals(sandbox)

        for viewing, slot, buyers in [
            (ordinary, None, MSPECS_BUYERS),
            (vitec_viewing, vitec_slot, VITEC_BUYERS),
            (broken_viewing, None, BROKEN_BUYERS),
        ]:
            for first, last, email, phone, fault, drive in buyers:
                self.booking(sandbox, viewing, slot, first, last, email, phone, fault, drive)
        # A buyer who changed their mind: cancelled by staff before it went out.
        cancelled = self.booking(
            sandbox, ordinary, None, "Jenny", "Jansson", "jenny@example.se", "0701234567", {}, None
        )
        if cancelled is not None:
            staff_actions.cancel([cancelled], By(Actor.OPERATOR, Door.DEMO))

        for agency in (mspecs, vitec, broken):
            check_credential(agency.credential, By(Actor.OPERATOR, Door.DEMO))

        admin = self.user("admin", password, is_superuser=True)
        for agency, username in [
            (mspecs, "mspecs-staff"),
            (vitec, "vitec-staff"),
            (broken, "broken-staff"),
        ]:
            user = self.user(username, password)
            Membership.objects.get_or_create(user=user, agency=agency)
        agency_admin = self.user("mspecs-admin", password, email="mspecs-admin@example.se")
        Membership.objects.update_or_create(
            user=agency_admin, agency=mspecs, defaults={"role": Membership.Role.ADMIN}
        )
        Membership.objects.update_or_create(
            user=agency_admin, agency=broken, defaults={"role": Membership.Role.ADMIN}
        )

        public_link = settings.SITE_URL + reverse("booking-page", args=[ordinary.public_id])
        self.stdout.write(
            self.style.SUCCESS("Demo data ready: a booking in every state (see README.md).")
            + f"\n  Admin:           {settings.SITE_URL}/admin/"
            + f"\n  Superuser:       {admin.username} / {password}"
            + f"\n  Agency staff:    mspecs-staff, vitec-staff, broken-staff / {password}"
            + f"\n  Agency admin:    {agency_admin.username} / {password} (gets the alert emails)"
            + f"\n  Public booking:  {public_link}"
            + f"\n  Sandbox providers: {sandbox_url}"
        )

    def agency(self, name, slug, provider, sandbox_url, **credential):
        """An agency with a credential for its system's sandbox server."""
        agency, _ = Agency.objects.update_or_create(
            slug=slug, defaults={"name": name, "provider": provider}
        )
        fields = {
            "base_url": f"{sandbox_url}/{provider}",  # the sandbox's /mspecs or /vitec
            "username": SANDBOX_USERNAME,
            "secret": SANDBOX_SECRET,
            **credential,
        }
        credential = ProviderCredential.objects.filter(agency=agency).first()
        credential = credential or ProviderCredential(agency=agency)
        for field, value in fields.items():
            setattr(credential, field, value)
        try:
            # The rules every door obeys: the sandbox must be an allowed provider host.
            credential.full_clean()
        except ValidationError as error:
            raise CommandError(
                f"The demo credential for {name} is refused: {' '.join(error.messages)} "
                f"The demo calls the sandbox providers at {sandbox_url}; allow them with "
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

    def imported(self, agency, source_id) -> Viewing:
        """The first viewing of a deal or estate, imported from the sandbox."""
        result = import_source(agency, source_id)
        if result.problem is not None:
            raise CommandError(f"The demo could not import {source_id}: {result.problem}")
        return result.viewings[0]

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

    def booking(self, sandbox, viewing, slot, first, last, email, phone, fault, drive):
        """The buyer's booking, taken in as intake does and, unless `drive` is None, sent
        by the delivery engine while the sandbox behaves as `fault` says. None when the
        demo made it before."""
        if Booking.objects.filter(viewing=viewing, first_name=first, last_name=last).exists():
            return None
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
        booking.full_clean()
        accept_booking(booking)
        if drive is not None:
            if fault:
                sandbox.set_fault(**fault)
            try:
                drive(booking)
            finally:
                sandbox.clear_fault()
        return booking

    def user(self, username, password, is_superuser=False, email=""):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = is_superuser
        user.email = email or user.email
        user.set_password(password)
        user.save()
        return user

"""The periodic sweep (bookings.delivery.tasks.dispatch_deliveries): it puts right what a
killed worker left behind and wakes what has come due (docs/design.md, "The flow of one
booking")."""

from django.db import transaction
from django.utils import timezone

from agencies.models import CredentialStatus
from bookings.buyer.emails import notify_buyer
from bookings.delivery import circuit
from bookings.delivery.credentials import resume_held
from bookings.delivery.schedule import dispatch_due
from bookings.delivery.sending import alert_stopped, retry_changes
from bookings.models import Booking, DeliveryAttempt, Outcome
from bookings.problems import delivery as problems
from bookings.providers import CLIENT_CLASSES

Status = Booking.Status


def sweep() -> dict[str, int]:
    """Run periodically (bookings.delivery.tasks.dispatch_deliveries): put right bookings a killed
    worker was sending, resume held bookings whose credential works again, send a probe
    through each open circuit that is due one, and wake every booking that is due."""
    return {
        "interrupted": recover_interrupted(),
        "resumed": sum(
            resume_held(agency_id)
            for agency_id in Booking.objects.filter(status=Status.HELD)
            .exclude(viewing__agency__credential__status=CredentialStatus.FAILING)
            .exclude(viewing__agency__credential__isnull=True)
            .exclude(viewing__agency__credential__circuit_opened_at__isnull=False)
            .values_list("viewing__agency", flat=True)
            .distinct()
        ),
        "probes": circuit.wake_probes(),
        "dispatched": dispatch_due(),
    }


def recover_interrupted() -> int:
    """A booking still `sending` after its claim ran out was claimed by a worker that died,
    and may have been sent (see claim): a provider that merges repeats gets it again;
    otherwise it may have landed and staff must look."""
    now = timezone.now()
    stale = Booking.objects.filter(status=Status.SENDING, claimed_until__lt=now).select_related(
        "viewing__agency__credential", "slot"
    )
    recovered = 0
    # Each booking below is taken with a conditional UPDATE on the state read here, so a
    # worker that answers meanwhile (or a second sweep) wins and this one skips it.
    for booking in stale:
        booking.attempt_count += 1
        booking.lost_answer_count += 1
        changes = interrupted_changes(booking)
        with transaction.atomic():
            # Undone with the transaction if another worker or sweep has the booking meanwhile.
            DeliveryAttempt.objects.create(
                booking=booking,
                # (Claims made before a claim marked the send have no mark: their claim time.)
                started_at=booking.send_started_at or booking.updated_at,
                endpoint="(no answer recorded)",
                outcome=Outcome.INTERRUPTED,
                response_excerpt=str(changes["last_problem"]),
            )
            still_stale = Booking.objects.filter(
                pk=booking.pk,
                status=Status.SENDING,
                claimed_until__lt=now,
                send_started_at=booking.send_started_at,
            ).update(
                attempt_count=booking.attempt_count,
                lost_answer_count=booking.lost_answer_count,
                claimed_until=None,
                updated_at=timezone.now(),
                **changes,
            )
            if not still_stale:
                transaction.set_rollback(True)
                continue
            if changes["status"] in Status.alerted():
                alert_stopped(booking.pk, changes["last_problem"])
            if changes["status"] in Status.given_up():
                notify_buyer(booking.pk, changes["status"])
        recovered += 1
    return recovered


def interrupted_changes(booking: Booking) -> dict:
    """What becomes of a booking whose worker stopped while sending: a lost answer, as in
    apply_result (review where a repeat is unsafe)."""
    agency = booking.viewing.agency
    if not CLIENT_CLASSES[agency.provider].lost_answer_repeats:
        return {"status": Status.NEEDS_REVIEW, "last_problem": problems.STOPPED_MAY_HAVE_SAVED()}
    changes = retry_changes(booking, agency.credential, problems.STOPPED_SENDING_AGAIN(), None)
    if changes["status"] == Status.RETRYING:
        changes["last_problem"] = problems.STOPPED_SENDING_AGAIN()
    return changes

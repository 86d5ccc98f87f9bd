"""The MSPECS webhook receiver: signature (constant-time HMAC over "t.rawBody"), replay
window, duplicates processed once, 2xx only once stored, the sync on the worker."""

import hashlib
import hmac
import json
import time
import zoneinfo
from datetime import datetime

import pytest

from agencies.models import BrokerSystem
from bookings.models import Viewing, WebhookEvent
from bookings.viewing_import.service import import_source
from bookings.viewing_import.webhooks import process_event
from tests.factories import mspecs_deal, mspecs_slot_viewing

pytestmark = pytest.mark.django_db
SECRET = "whsec-test"
START = datetime(2031, 6, 10, 17, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Stockholm"))


@pytest.fixture
def queued(settings):
    """Tasks go to Django's dummy backend, which keeps them: returns the webhook events
    whose processing was enqueued."""
    from django.tasks import task_backends

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    return lambda: [
        result.args[0]
        for result in task_backends["default"].results
        if result.task.name == "process_webhook_event"
    ]


@pytest.fixture
def agency(make_agency, sandbox):
    agency = make_agency(BrokerSystem.MSPECS, slug="maklarhuset", mspecs_webhook_secret=SECRET)
    sandbox.set_mspecs_deal(
        "deal-1", mspecs_deal("deal-1", [mspecs_slot_viewing("v", START, ["s-1"])])
    )
    assert import_source(agency, "deal-1").problem is None
    return agency


def event(event_id="evt-1", deal_id="deal-1", event_type="VIEWING", **fields):
    return {
        "id": event_id,
        "eventType": event_type,
        "dealId": deal_id,
        "eventData": {"viewings": []},
        **fields,
    }


def signature(body: bytes, secret=SECRET, age=0) -> str:
    """Signed `age` seconds ago (negative: in the future)."""
    timestamp = int(time.time()) - age
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},s={digest.hexdigest()}"


def post(client, payload, slug="maklarhuset", sign=True, **signing):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"HTTP_X_MSPECS_SIGNATURE": signature(body, **signing)} if sign else {}
    return client.post(f"/webhooks/mspecs/{slug}/", body, "application/json", **headers)


def test_a_signed_viewing_event_is_stored_and_left_to_the_worker(
    client, agency, sandbox, queued, django_capture_on_commit_callbacks
):
    before = sandbox.requests_served

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, event())

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = WebhookEvent.objects.get()
    assert (stored.agency, stored.event_id, stored.source_id) == (agency, "evt-1", "deal-1")
    assert queued() == [stored.pk]
    assert sandbox.requests_served == before  # the request itself read nothing


def test_the_worker_syncs_the_deal_the_event_names(client, agency, sandbox, queued):
    post(client, event())
    sandbox.set_mspecs_deal(
        "deal-1", mspecs_deal("deal-1", [mspecs_slot_viewing("v", START, ["s-1", "s-2"])])
    )

    process_event(WebhookEvent.objects.get().pk)

    viewing = Viewing.objects.get(provider_viewing_id="v")
    assert viewing.slots.count() == 2
    assert WebhookEvent.objects.get().processed_at is not None


def test_the_same_event_twice_is_processed_once(
    client, agency, sandbox, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, event())
        second = post(client, event())

    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1
    assert queued() == [WebhookEvent.objects.get().pk]
    assert first.json()["duplicate"] is False


def test_an_event_processed_before_is_not_processed_again(client, agency, sandbox, queued):
    post(client, event())
    pk = WebhookEvent.objects.get().pk
    process_event(pk)
    before = sandbox.requests_served

    assert process_event(pk) == "already processed"
    assert sandbox.requests_served == before


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "wrong-secret"},
        {"age": 301},  # older than 5 minutes: a replay
        {"age": -301},
    ],
    ids=["wrong-secret", "too-old", "in-the-future"],
)
def test_a_bad_or_stale_signature_is_refused(client, agency, queued, signing):
    response = post(client, event(), **signing)

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_a_signature_just_inside_five_minutes_is_taken(client, agency, queued):
    assert post(client, event(), age=290).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["", "t=,s=", "s=abc", "t=abc,s=def", "t=1,t=2", "garbage", "t=99999999999999,s=00"],
)
def test_a_missing_or_malformed_signature_is_refused(client, agency, header):
    body = json.dumps(event()).encode()

    response = client.post(
        "/webhooks/mspecs/maklarhuset/", body, "application/json", HTTP_X_MSPECS_SIGNATURE=header
    )

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_no_signature_header_is_refused(client, agency):
    assert post(client, event(), sign=False).status_code == 401


def test_a_signature_of_another_body_is_refused(client, agency):
    body = json.dumps(event()).encode()
    other = json.dumps(event(deal_id="deal-2")).encode()

    response = client.post(
        "/webhooks/mspecs/maklarhuset/",
        other,
        "application/json",
        HTTP_X_MSPECS_SIGNATURE=signature(body),
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        event(event_id=None),
        event(event_id="x" * 201),
        event(event_id="evt\x00"),
        event(event_type=["VIEWING"]),
        event(deal_id=None),
        event(deal_id="deal/1"),
        event(deal_id="../x"),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-id",
        "long-id",
        "nul-id",
        "type-not-text",
        "no-deal",
        "deal-slash",
        "deal-dotdot",
    ],
)
def test_a_signed_body_of_the_wrong_shape_is_a_400(client, agency, queued, payload):
    response = post(client, payload)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_other_event_types_are_stored_and_not_synced(
    client, agency, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, event(event_type="BIDDING"))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().event_type == "BIDDING"
    assert queued() == []


@pytest.mark.parametrize("slug", ["nobody", "vitec-agency", "no-secret"])
def test_an_address_without_an_mspecs_webhook_is_a_404(client, make_agency, agency, slug):
    make_agency(BrokerSystem.VITEC, slug="vitec-agency", mspecs_webhook_secret=SECRET)
    make_agency(BrokerSystem.MSPECS, slug="no-secret")

    assert post(client, event(), slug=slug).status_code == 404


def test_one_agencys_secret_does_not_open_anothers_address(client, make_agency, agency):
    make_agency(BrokerSystem.MSPECS, slug="other", mspecs_webhook_secret="other-secret")

    assert post(client, event(), slug="other").status_code == 401


def test_an_event_for_a_deal_only_another_agency_imported_syncs_nothing(
    client, make_agency, agency, sandbox, queued
):
    other = make_agency(BrokerSystem.MSPECS, slug="other", mspecs_webhook_secret="s2")
    post(client, event(), slug="other", secret="s2")
    before = sandbox.requests_served

    result = process_event(WebhookEvent.objects.get(agency=other).pk)

    assert result == "nothing to sync" and sandbox.requests_served == before


def test_only_post_is_answered(client, agency):
    assert client.get("/webhooks/mspecs/maklarhuset/").status_code == 405


def test_a_failed_sync_is_kept_on_the_event(client, agency, sandbox, queued):
    post(client, event())
    sandbox.set_fault(status=503)

    process_event(WebhookEvent.objects.get().pk)

    assert WebhookEvent.objects.get().problem.code == "source_unreachable"
    assert Viewing.objects.get().sync_problem.code == "source_unreachable"


def test_the_event_id_may_come_back_for_another_agency(client, make_agency, agency, queued):
    make_agency(BrokerSystem.MSPECS, slug="other", mspecs_webhook_secret="s2")

    post(client, event())
    response = post(client, event(), slug="other", secret="s2")

    assert response.json()["duplicate"] is False
    assert WebhookEvent.objects.count() == 2

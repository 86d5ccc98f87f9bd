"""The MSPECS webhook receiver, held to MSPECS's published contract (docs/mspecs.md,
"Webhooks"): its own signed example is taken; the provider account's secret signs every
agency's events, matched by subscriberId; each refusal stores nothing (a body too big
unread, one too deep unparsed); a delivery is stored once before the 2xx, with only what we
act on; a deal has one event waiting, whatever the burst; the worker re-reads (PUBLISH,
VIEWING) or closes (UN_PUBLISH) deals the agency imported, one read of a deal at a time."""

import hashlib
import hmac
import io
import json
import logging
import threading
import time
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from agencies.models import Provider
from bookings.models import Booking, Viewing, ViewingSlot, WebhookEvent
from bookings.providers.mspecs.schemas import CONTRACT
from bookings.sandbox import SandboxProviders
from bookings.viewing_import.service import import_source
from bookings.viewing_import.webhooks import (
    LOST_AFTER,
    MAX_BODY_BYTES,
    MAX_DEPTH,
    process_event,
)
from tests import factories
from tests.conftest import stored_anywhere, wait_until
from tests.factories import (
    make_booking,
    migrate_back_to,
    migrate_to_latest,
    mspecs_deal,
    mspecs_slot_viewing,
)

pytestmark = pytest.mark.django_db
URL = "/webhooks/mspecs/"
SECRET = "provider-webhook-secret"
SUBSCRIBER = "sandbox-subscriber"
START = datetime(2031, 6, 10, 17, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Stockholm"))
DEAL_PATH = "/mspecs/api/marketing/deals/deal-1"
BUYER_EMAIL, BUYER_PHONE = "anna.buyer@example.se", "+46701112233"
# A buyer as the data of a VIEWING or BIDDING event may carry one.
BUYER = {"name": "Anna Buyer", "email": BUYER_EMAIL, "phone": BUYER_PHONE}


@pytest.fixture(autouse=True)
def provider_secret(settings):
    settings.MSPECS_WEBHOOK_SECRET = SECRET


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
    """An MSPECS agency (subscriber "sandbox-subscriber") that imported deal-1: viewing "v"
    with slot s-1."""
    agency = make_agency(Provider.MSPECS, mspecs_subscriber_id=SUBSCRIBER)
    sandbox.set_mspecs_deal(
        "deal-1", mspecs_deal("deal-1", [mspecs_slot_viewing("v", START, ["s-1"])])
    )
    assert import_source(agency, "deal-1").problem is None
    return agency


def event(event_type="VIEWING", deal_id="deal-1", subscriber=SUBSCRIBER, **fields):
    """An event as MSPECS sends it (marketing_marketingPublishHook), checked against the
    contract unless told not to (`valid=False`)."""
    valid = fields.pop("valid", True)
    body = {
        "eventType": event_type,
        "accessToken": "secret-access-token",
        "subscriberId": subscriber,
        "dealId": deal_id,
        "saleStatus": "ENUMS_SALE_STATUS_FOR_SALE",
        "isPreview": False,
        **fields,
    }
    body = {name: value for name, value in body.items() if value is not None}
    if valid:
        CONTRACT.check("webhook_event", body)
    return body


def signature(body: bytes, secret=SECRET, age=0, timestamp=None) -> str:
    """Signed as MSPECS does, `age` seconds ago (negative: in the future)."""
    timestamp = int(time.time()) - age if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},s={digest.hexdigest()}"


def raw(payload) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def post(client, payload, *, header=None, **signing):
    body = raw(payload)
    header = signature(body, **signing) if header is None else header
    return client.post(URL, body, "application/json", HTTP_X_MSPECS_SIGNATURE=header)


def refused_and_nothing_stored(response, status):
    return response.status_code == status and not WebhookEvent.objects.exists()


# --- MSPECS's own example --------------------------------------------------------------------


def vendor_example():
    """The body, header and secret of the OpenAPI's 'Webhook validation' example."""
    example = CONTRACT.schema("webhook_event")["x-signature"]["example"]
    body = (CONTRACT.folder / example["body"]).read_bytes()
    return body, example["header"], example["secret"]


def test_mspecs_example_event_matches_the_contract():
    body, _, _ = vendor_example()

    assert CONTRACT.violations("webhook_event", json.loads(body)) == []


def test_mspecs_signed_example_is_taken_and_its_deal_read_again(client, settings, queued):
    body, header, secret = vendor_example()
    published = json.loads(body)
    settings.MSPECS_WEBHOOK_SECRET = secret
    signed_at = int(header.split(",")[0].removeprefix("t="))
    settings.WEBHOOK_MAX_AGE_SECONDS = int(time.time()) - signed_at + 60  # a 2022 example
    deal_id, subscriber = published["dealId"], published["subscriberId"]
    with SandboxProviders(mspecs_subscriber_ids={subscriber}) as sandbox:
        agency = factories.make_agency(
            Provider.MSPECS, sandbox=sandbox, mspecs_subscriber_id=subscriber
        )
        sandbox.set_mspecs_deal(
            deal_id, mspecs_deal(deal_id, [mspecs_slot_viewing("v", START, ["s-1"])])
        )
        import_source(agency, deal_id)
        sandbox.set_mspecs_deal(
            deal_id, mspecs_deal(deal_id, [mspecs_slot_viewing("v", START, ["s-1", "s-2"])])
        )

        response = client.post(URL, body, "application/json", HTTP_X_MSPECS_SIGNATURE=header)
        process_event(WebhookEvent.objects.get().pk)

        assert response.status_code == 200
        assert sandbox.requests_to(f"/mspecs/api/marketing/deals/{deal_id}") == 2
    stored = WebhookEvent.objects.get()
    assert (stored.agency, stored.event_type, stored.source_id) == (agency, "PUBLISH", deal_id)
    assert ViewingSlot.objects.filter(viewing__agency=agency).count() == 2


def test_the_access_token_is_neither_stored_nor_logged(client, agency, queued, caplog):
    caplog.set_level(logging.DEBUG)

    post(client, event())

    stored = WebhookEvent.objects.values().get()
    assert not any("secret-access-token" in str(value) for value in stored.values())
    assert "secret-access-token" not in caplog.text


# --- taken ------------------------------------------------------------------------------------


def test_a_signed_event_is_stored_and_left_to_the_worker(
    client, agency, sandbox, queued, django_capture_on_commit_callbacks
):
    before = sandbox.requests_served

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, event())

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = WebhookEvent.objects.get()
    assert (stored.agency, stored.event_type, stored.source_id) == (agency, "VIEWING", "deal-1")
    assert queued() == [stored.pk]
    assert sandbox.requests_served == before  # the request itself read nothing


def test_the_same_delivery_twice_is_stored_and_processed_once(
    client, agency, sandbox, queued, django_capture_on_commit_callbacks
):
    body = raw(event())
    header = signature(body)

    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body, header=header)
        second = post(client, body, header=header)
    for pk in queued():
        process_event(pk)

    assert first.json()["duplicate"] is False
    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1 and len(queued()) == 1
    assert sandbox.requests_to(DEAL_PATH) == 2  # the import, and one read for the event


def test_the_same_body_signed_again_later_is_a_new_delivery(client, agency, queued):
    body = raw(event())

    post(client, body, age=10)
    response = post(client, body)

    assert response.json()["duplicate"] is False
    assert WebhookEvent.objects.get().deliveries == 2


def test_an_event_keeps_only_its_type_deal_and_delivery(client, agency, queued):
    payload = event(
        "VIEWING", officeId="office-7", eventData={"viewings": [{"id": "v", "buyers": [BUYER]}]}
    )

    assert post(client, payload).status_code == 200

    assert WebhookEvent.objects.exists()
    for value in (BUYER_EMAIL, BUYER_PHONE, "office-7", "secret-access-token", "FOR_SALE"):
        assert not stored_anywhere(value), value


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (event("BIDDING", eventData={"bidding": {"bids": [{"bidder": BUYER}]}}), 200),
        (event("CONTACT", valid=False, contact=BUYER), 400),
    ],
    ids=["bidding", "contact"],
)
def test_an_event_we_do_not_act_on_leaves_its_buyer_nowhere(
    client, agency, queued, payload, status
):
    assert post(client, payload).status_code == status

    assert not WebhookEvent.objects.exists()
    assert not stored_anywhere(BUYER_EMAIL) and not stored_anywhere(BUYER_PHONE)


def test_a_signature_just_inside_five_minutes_is_taken(client, agency, queued):
    assert post(client, event(), age=290).status_code == 200


@pytest.mark.parametrize("event_type", ["BIDDING", "REFERRAL"])
def test_events_about_nothing_we_keep_are_answered_and_not_stored(
    client, agency, queued, event_type
):
    response = post(client, event(event_type))

    assert response.status_code == 200
    assert not WebhookEvent.objects.exists() and queued() == []


# --- refused, nothing stored -------------------------------------------------------------------


@pytest.mark.parametrize(
    "signing",
    [{"secret": "wrong-secret"}, {"age": 301}, {"age": -301}],
    ids=["wrong-secret", "too-old", "in-the-future"],
)
def test_a_bad_or_stale_signature_is_refused(client, agency, queued, signing):
    assert refused_and_nothing_stored(post(client, event(), **signing), 401)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=,s=",
        "s=abc",
        "t=abc,s=def",
        "t=1,t=2",
        "garbage",
        "t=99999999999999,s=00",
        "t=1654088142,s=4c4049d554262c390b059a5b20b204d66bdde7b03d7b12b1ef56d44541e3e26b,x=1",
    ],
)
def test_a_malformed_signature_is_refused(client, agency, header):
    assert refused_and_nothing_stored(post(client, event(), header=header), 401)


def test_a_signature_of_another_body_is_refused(client, agency):
    header = signature(raw(event(deal_id="deal-2")))

    assert refused_and_nothing_stored(post(client, event(), header=header), 401)


def test_unsigned_requests_are_answered_alike_whatever_the_subscriber(client, agency):
    known = post(client, event(), header="")
    unknown = post(client, event(subscriber="nobody-we-know"), header="")

    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.status_code == 401


def test_an_unsigned_request_asks_the_database_nothing_whatever_the_subscriber(
    client, agency, django_assert_num_queries
):
    for subscriber in (SUBSCRIBER, "nobody-we-know"):
        with django_assert_num_queries(0):
            assert post(client, event(subscriber=subscriber), header="").status_code == 401


def test_nothing_is_taken_while_no_secret_is_set(client, agency, settings):
    settings.MSPECS_WEBHOOK_SECRET = ""

    assert refused_and_nothing_stored(post(client, event(), secret=""), 404)


def test_an_event_no_agency_subscribes_to_is_refused(client, agency, queued):
    response = post(client, event(subscriber="somebody-else"))

    assert refused_and_nothing_stored(response, 404)


@pytest.mark.parametrize("other", ["vitec", "inactive"])
def test_an_event_is_not_matched_to_a_vitec_or_inactive_agency(client, make_agency, other):
    if other == "vitec":
        make_agency(Provider.VITEC, mspecs_subscriber_id="shared")
    else:
        make_agency(Provider.MSPECS, mspecs_subscriber_id="shared", is_active=False)

    assert refused_and_nothing_stored(post(client, event(subscriber="shared")), 404)


def test_a_body_over_the_cap_is_refused(client, agency):
    body = raw(event(padding="x" * MAX_BODY_BYTES))

    assert refused_and_nothing_stored(post(client, body), 413)


def test_a_declared_length_over_the_cap_is_refused_before_reading(client, agency):
    body = raw(event())

    response = client.post(
        URL,
        body,
        "application/json",
        CONTENT_LENGTH=str(10 * MAX_BODY_BYTES),
        HTTP_X_MSPECS_SIGNATURE=signature(body),
    )

    assert refused_and_nothing_stored(response, 413)


def nested(levels: int) -> dict:
    """`levels` objects around an empty one."""
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("secret", [SECRET, "wrong-secret"], ids=["signed", "badly-signed"])
def test_a_body_over_the_cap_is_refused_unread_before_its_signature_is_checked(
    client, agency, secret
):
    body = raw(event(padding="x" * 2_400_000))
    stream = io.BytesIO(body)

    response = client.generic(
        "POST",
        URL,
        body,
        "application/json",
        HTTP_X_MSPECS_SIGNATURE=signature(body, secret=secret),
        **{"wsgi.input": stream},
    )

    assert refused_and_nothing_stored(response, 413)
    assert stream.tell() == 0


def test_a_hundred_thousand_nested_arrays_signed_are_refused_by_their_size(client, agency):
    assert refused_and_nothing_stored(post(client, b"[" * 100_000 + b"]" * 100_000), 413)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 30_000 + b"]" * 30_000,
        b"[" * 60_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        raw(event(eventData=nested(MAX_DEPTH - 1))),  # 17 levels with the event
    ],
    ids=["arrays", "unclosed", "objects", "one-level-too-deep"],
)
def test_a_body_too_deep_is_refused_before_it_is_parsed(client, agency, payload):
    response = post(client, payload)

    assert refused_and_nothing_stored(response, 400)
    assert "nests deeper" in response.json()["error"]


def test_a_body_nested_as_deep_as_allowed_is_taken(client, agency, queued):
    payload = event(eventData=nested(MAX_DEPTH - 2))  # 16 levels with the event

    assert post(client, payload).status_code == 200


def test_brackets_inside_strings_are_not_nesting(client, agency, queued):
    text = '"\\' + "[{" * 100

    response = post(client, event(eventData={"viewings": [{"id": "v", "note": text}]}))

    assert response.status_code == 200 and WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"[" * 20000 + b"]" * 20000,
        raw(event(eventData=nested(40))),
        b'{"eventType": "VIEWING", "subscriberId": "sandbox-subscriber", "dealId": NaN}',
        b'{"eventType": "VIEWING", "subscriberId": "sandbox-subscriber", "n": '
        + b"9" * 5000
        + b"}",
    ],
    ids=["not-json", "not-utf8", "deep-arrays", "deep-objects", "nan", "huge-number"],
)
def test_a_body_that_is_not_plain_json_is_refused(client, agency, payload):
    assert refused_and_nothing_stored(post(client, payload), 400)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (event(event_type="UN-PUBLISH", valid=False), "eventType"),
        (event(event_type="SOLD", valid=False), "eventType"),
        (event(event_type=["VIEWING"], valid=False), "eventType"),
        (event(subscriber=None, valid=False), "subscriberId"),
        (event(deal_id=None, valid=False), "dealId"),
        (event(deal_id="x" * 201, valid=False), "dealId"),
        (event(isPreview="no", valid=False), "isPreview"),
        (event(saleStatus="ENUMS_SALE_STATUS_PREVIEW", valid=False), "saleStatus"),
        ([event()], "the answer"),
    ],
    ids=[
        "un-dash-publish",
        "sold-is-no-event-type",
        "type-not-text",
        "no-subscriber",
        "no-deal",
        "long-deal",
        "preview-not-boolean",
        "preview-is-no-sale-status",
        "not-an-object",
    ],
)
def test_a_body_of_another_shape_is_refused_naming_the_field(client, agency, payload, field):
    response = post(client, payload)

    assert refused_and_nothing_stored(response, 400)
    assert field in response.json()["error"] or "required" in response.json()["error"]


@pytest.mark.parametrize("deal_id", ["deal/1", "..", "deal 1", "deal\x00"])
def test_a_deal_id_that_cannot_name_one_deal_is_refused(client, agency, deal_id):
    assert refused_and_nothing_stored(post(client, event(deal_id=deal_id)), 400)


def test_only_post_is_answered(client):
    assert client.get(URL).status_code == 405


# --- the worker --------------------------------------------------------------------------------


def stored_event(client, *args, **fields) -> int:
    assert post(client, event(*args, **fields)).status_code == 200
    return WebhookEvent.objects.latest("pk").pk


@pytest.mark.parametrize("event_type", ["PUBLISH", "VIEWING"])
def test_publish_and_viewing_events_read_the_deal_again(
    client, agency, sandbox, queued, event_type
):
    pk = stored_event(client, event_type)
    sandbox.set_mspecs_deal(
        "deal-1", mspecs_deal("deal-1", [mspecs_slot_viewing("v", START, ["s-1", "s-2"])])
    )

    process_event(pk)

    assert Viewing.objects.get(provider_viewing_id="v").slots.count() == 2
    assert WebhookEvent.objects.get().processed_at is not None


def test_un_publish_closes_the_deals_viewings_and_sets_their_waiting_bookings_aside(
    client, agency, sandbox, queued
):
    viewing = Viewing.objects.get(provider_viewing_id="v")
    booking = make_booking(viewing, viewing.slots.get())
    pk = stored_event(client, "UN_PUBLISH")
    before = sandbox.requests_served

    process_event(pk)

    viewing.refresh_from_db()
    booking.refresh_from_db()
    assert not viewing.is_open and viewing.removed_from_source_at is not None
    assert booking.status == Booking.Status.REJECTED
    assert sandbox.requests_served == before  # closing reads nothing


def test_a_burst_of_events_for_one_deal_is_one_stored_event_one_task_and_one_read(
    client, agency, sandbox, queued, django_capture_on_commit_callbacks
):
    before = sandbox.requests_to(DEAL_PATH)

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(300):
            assert post(client, event("VIEWING", padding=str(n))).status_code == 200
    results = [process_event(pk) for pk in queued()]

    assert WebhookEvent.objects.get().deliveries == 300
    assert len(results) == 1
    assert sandbox.requests_to(DEAL_PATH) == before + 1
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


def test_events_for_two_deals_wait_apart(
    client, agency, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for deal_id in ("deal-1", "deal-2", "deal-1"):
            post(client, event("VIEWING", deal_id=deal_id, padding=deal_id + str(time.time())))

    deliveries = dict(WebhookEvent.objects.values_list("source_id", "deliveries"))
    assert deliveries == {"deal-1": 2, "deal-2": 1}
    assert len(queued()) == 2


def test_an_event_after_the_deal_was_read_is_read_again(client, agency, sandbox, queued):
    first = stored_event(client, "VIEWING", padding="1")
    process_event(first)
    before = sandbox.requests_to(DEAL_PATH)

    second = stored_event(client, "VIEWING", padding="2")
    process_event(second)

    assert second != first
    assert sandbox.requests_to(DEAL_PATH) == before + 1


@pytest.mark.django_db(transaction=True)
def test_an_event_arriving_while_the_deal_is_read_makes_exactly_one_more_read_after_it(
    client, agency, sandbox, queued
):
    first = stored_event(client, "VIEWING", padding="1")
    sandbox.set_latency(0.3)
    before = sandbox.requests_to(DEAL_PATH)
    results = []

    def worker():
        try:
            results.append(process_event(first))
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    wait_until(lambda: sandbox.requests_to(DEAL_PATH) == before + 1)  # the read runs
    second = stored_event(client, "VIEWING", padding="2")
    assert stored_event(client, "VIEWING", padding="3") == second
    meanwhile = process_event(second)  # another worker takes its task
    thread.join(timeout=30)

    assert meanwhile.startswith("already processed, or next after")
    assert sandbox.requests_to(DEAL_PATH) == before + 2
    assert sandbox.max_in_flight == 1
    assert queued() == [first, second]
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


def test_a_deals_next_event_wakes_the_worker_again_when_the_wake_up_was_lost(
    client, agency, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, event(padding="1"))
    WebhookEvent.objects.update(woken_at=timezone.now() - LOST_AFTER - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        post(client, event(padding="2"))
        post(client, event(padding="3"))

    pk = WebhookEvent.objects.get().pk
    assert queued() == [pk, pk]


def test_a_read_whose_worker_stopped_holds_the_deal_back_no_longer(client, agency, sandbox, queued):
    stopped = stored_event(client, padding="1")
    started_at = timezone.now() - LOST_AFTER - timedelta(seconds=1)
    WebhookEvent.objects.filter(pk=stopped).update(started_at=started_at)
    waiting = stored_event(client, padding="2")
    before = sandbox.requests_to(DEAL_PATH)

    process_event(waiting)

    assert sandbox.requests_to(DEAL_PATH) == before + 1
    assert WebhookEvent.objects.get(pk=waiting).processed_at is not None


def test_the_latest_of_the_waiting_events_decides(client, agency, sandbox, queued):
    first = stored_event(client, "VIEWING")
    stored_event(client, "UN_PUBLISH")
    before = sandbox.requests_served

    process_event(first)

    assert sandbox.requests_served == before
    assert not Viewing.objects.get(provider_viewing_id="v").is_open


def test_an_event_for_a_deal_the_agency_did_not_import_reads_nothing(
    client, agency, sandbox, queued
):
    pk = stored_event(client, "PUBLISH", deal_id="deal-new")
    before = sandbox.requests_served

    assert process_event(pk) == "not imported"
    assert sandbox.requests_served == before


def test_a_failed_read_is_kept_on_the_event(client, agency, sandbox, queued):
    pk = stored_event(client)
    sandbox.set_fault(status=503)

    process_event(pk)

    assert WebhookEvent.objects.get().problem.code == "source_unreachable"
    assert Viewing.objects.get().sync_problem.code == "source_unreachable"


# --- the migration to one waiting event per deal -------------------------------------------

BEFORE_COALESCING = [
    ("bookings", "0022_idempotency_key_digests"),
    ("agencies", "0014_rename_agency_broker_system_to_provider"),
]


@pytest.mark.django_db(transaction=True)
def test_the_migration_leaves_each_deal_its_latest_waiting_event_answering_for_the_others():
    old = migrate_back_to(BEFORE_COALESCING)
    agency = old.get_model("agencies", "Agency").objects.create(name="A", slug="a")
    OldEvent = old.get_model("bookings", "WebhookEvent")
    now = timezone.now()

    def stored(deal_id, seconds_ago, processed_at=None):
        signed_at = now - timedelta(seconds=seconds_ago)
        return OldEvent.objects.create(
            agency=agency,
            event_type="VIEWING",
            source_id=deal_id,
            signed_at=signed_at,
            body_sha256=str(seconds_ago),
            processed_at=processed_at,
        ).pk

    processed = stored("deal-1", 50, processed_at=now)
    earlier = [stored("deal-2", 40), stored("deal-2", 30)]
    latest = stored("deal-2", 20)
    alone = stored("deal-3", 10)

    migrate_to_latest()

    events = WebhookEvent.objects.in_bulk()
    assert events[processed].started_at == events[processed].processed_at == now
    assert all(events[pk].processed_at is not None for pk in earlier)
    assert [(events[pk].started_at, events[pk].deliveries) for pk in (latest, alone)] == [
        (None, 3),
        (None, 1),
    ]

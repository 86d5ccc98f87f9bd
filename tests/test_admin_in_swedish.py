"""Every admin page a user can reach renders in Swedish, in words: each changelist, add and
change form, history and delete page, every custom view, the start page, the data-request
look-up and a delivery attempt's page, for each role, with no English word and no Python
value (a dict, a list, an exception's repr) left on it. English is found by a small list
of English words that are no Swedish words; names (the product, the broker systems, data
the test made) are allowed."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from agencies.models import ApiKey
from bookings.models import (
    Booking,
    DataRequest,
    DeliveryAttempt,
    IdempotentRequest,
    Outcome,
    QuarantineDecision,
    WebhookEvent,
)
from bookings.problems import delivery as delivery_problems
from tests.factories import (
    ROLES,
    make_agency,
    make_booking,
    make_slot,
    make_user_in_role,
    make_viewing,
)

# Common English words that are no Swedish words (so "status", "admin", "kind" of a
# Swedish sentence pass), and the admin's own English: enough to catch an untranslated
# label, heading, button, choice or note.
ENGLISH_WORDS = """
    the and of to is are was were been from with without not yet no yes none this that
    these those which what when where who whose will would can cannot could should your you
    it its an or by on at as if than then there here has have had do does did done
    add added change changed changes delete deleted history view save search select
    action actions go new old all any each every more less other another only also
    access attempt attempts log logs failure failures user users group groups password
    permission permissions date time timezone hour hours minute minutes second seconds ahead
    behind server note forbidden found error page request requests webhook webhooks event
    events task tasks result results removed recorded slot slots failed rejected consent
    public delivered cancelled queued sending retrying held review needs waiting staff
    agencies booking bookings viewing viewings buyer buyers credential credentials key keys
    created updated started finished outcome endpoint duration response excerpt body name
    email phone message language first last true false open closed circuit worker running
    ready successful priority queue args kwargs return value exception enqueued
    remote disconnected connection refused timeout timed reset nothing else needs you
    today yesterday tomorrow now never ago day days week weeks month months year years
    show hide clear close submit continue back next previous home login logout sign
    received processed signed type source problem problems decision decisions approved
    declined erasure channel performed rows count counts tested untested working
    failing edit read write permanently recent welcome documentation true false
"""
ENGLISH = set(ENGLISH_WORDS.split())
# Names, not words: the product, the broker systems and their APIs, formats and headers.
NAMES = [
    "Viewing Bridge",
    "External viewing API",  # MSPECS's name for its API
    "login.mspecs.se",
    "Single Sign-On",
    "Vitec Express",
    "Idempotency-Key",
    "subscriber-id",
]
WORD = re.compile(r"[A-Za-zÅÄÖåäöÉé]+")
# A Python value on a page: a dict or list repr, or an exception's class with its arguments.
PYTHON_VALUE = re.compile(r"\{'|\['|\w+(Error|Exception|Disconnected|Timeout)\(")


class VisibleText(HTMLParser):
    """The text a reader sees (and a screen reader reads: titles and labels), without
    scripts, styles and hidden inputs."""

    SKIPPED = {"script", "style", "template"}
    READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in self.SKIPPED:
            self.skipping += 1
        if tag == "img" and "/admin/img/icon-" in attributes.get("src", ""):
            return  # Django's yes/no icons say True or False in every language
        self.parts.extend(value for name, value in attrs if name in self.READ_ATTRIBUTES and value)
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.parts.append(attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_on(html: str, data: list[str]) -> list[str]:
    """The English words and Python values on a page; `data` are values the test stored
    (names, addresses), which are the user's, in whatever language."""
    text = visible_text(html)
    for allowed in [*NAMES, *data]:
        text = text.replace(allowed, " ")
    words = {
        part.lower()
        for word in WORD.findall(text)
        # CamelCase (an exception's name) is read word by word.
        for part in re.findall(r"[A-ZÅÄÖ]?[a-zåäöé]+|[A-ZÅÄÖ]+(?![a-z])", word)
    }
    return sorted(words & ENGLISH) + [match.group(0) for match in PYTHON_VALUE.finditer(text)]


def test_the_detector_finds_english_words_and_python_values():
    html = "<p>Webhook events</p><p>RemoteDisconnected('x')</p><p>{'phoneNumber': ['fel']}</p>"

    words = ["disconnected", "events", "phone", "remote", "webhook"]
    assert english_on(html, []) == [*words, "RemoteDisconnected(", "{'", "['"]


def test_the_detector_passes_swedish_and_names():
    html = "<h1>Viewing Bridge</h1><p>Status: levererad till Vitec Express</p><script>the</script>"

    assert english_on(html, []) == []


# --- every page --------------------------------------------------------------------------


@pytest.fixture
def stored(db):
    return one_of_everything()


def one_of_everything():
    """One of everything the admin lists, in an agency the role works on, in Swedish:
    (the agency, a rejected booking with three attempts that got no answer)."""
    agency = make_agency(name="Mäklarhuset Öst")
    viewing = make_viewing(agency, title="Storgatan 1, 3 rok")
    slot = make_slot(viewing)
    rejected = make_booking(
        viewing,
        slot,
        first_name="Åsa",
        last_name="Öberg",
        email="asa@exempel.se",
        status=Booking.Status.REJECTED,
        provider_errors={"phoneNumber": ["ogiltigt nummer"]},
        last_problem=delivery_problems.CREDENTIAL_FAILING(),
    )
    make_booking(viewing, slot, email="bo@exempel.se", status=Booking.Status.FAILED)
    for n in range(3):
        DeliveryAttempt.objects.create(
            booking=rejected,
            started_at=timezone.now() - timedelta(minutes=10 - n),
            endpoint="POST /deals/d1/viewings",
            url="http://127.0.0.1:9/api/deals/d1/viewings",
            outcome=Outcome.RETRY,
            response_excerpt="RemoteDisconnected('Remote end closed connection without response')",
        )
    QuarantineDecision.objects.create(
        viewing=viewing, email="asa@exempel.se", decision=QuarantineDecision.Decision.APPROVED
    )
    api_key = ApiKey.issue(agency, "Webbplatsen")[0]
    IdempotentRequest.objects.create(
        api_key=api_key,
        key_digest="0" * 64,
        request_fingerprint="f",
        response_status=201,
        response_body={"id": rejected.pk, "status": "queued"},
    )
    WebhookEvent.objects.create(
        agency=agency,
        event_type="deal.updated",
        source_id="d1",
        signed_at=timezone.now(),
        body_sha256="0" * 64,
    )
    DataRequest.objects.create(
        kind=DataRequest.Kind.EXPORT,
        agency=agency,
        channel=DataRequest.Channel.ADMIN,
        email_digest="0" * 64,
        counts={"bookings": 1},
    )
    return agency, rejected


def stored_objects(agency, booking, user) -> dict:
    """An object of each registered model, for its change, history and delete pages."""
    LogEntry.objects.log_actions(
        user.pk, [booking], CHANGE, change_message=[{"changed": {"fields": ["Status"]}}]
    )
    AccessAttempt.objects.create(
        username="okand", ip_address="127.0.0.1", user_agent="webbläsare", failures_since_start=1
    )
    AccessLog.objects.create(username="okand", ip_address="127.0.0.1", user_agent="webbläsare")
    AccessFailureLog.objects.create(
        username="okand", ip_address="127.0.0.1", user_agent="webbläsare", locked_out=False
    )
    Group.objects.get_or_create(name="Mäklare")
    objects = {model: model.objects.order_by("pk").first() for model in admin.site._registry}
    # The user's own page: another user (made by an earlier test or a migration) has names
    # of its own.
    objects[type(user)] = user
    return objects


# Views that are no page to read: redirects, scripts, JSON.
NOT_PAGES = {None, "logout", "jsi18n", "view_on_site", "autocomplete", "password_change_done"}


def admin_pages(objects) -> list[str]:
    """Every GET page of the admin site: each URL pattern, its object id filled in."""
    urls = []

    def walk(patterns, prefix, model):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                route = prefix + str(pattern.pattern)
                walk(pattern.url_patterns, route, model_routes.get(route, model))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                urls.append((route, model, pattern.name))

    model_routes = {f"{m._meta.app_label}/{m._meta.model_name}/": m for m in admin.site._registry}
    walk(admin.site.urls[0], "", None)
    pages = []
    for route, model, name in urls:
        if name in NOT_PAGES:
            continue
        if "<" in route and model is None:
            continue
        obj = objects.get(model)
        if "object_id" in route and obj is None:
            continue
        path = re.sub(r"<(path:)?object_id>", str(obj.pk) if obj else "", route)
        path = re.sub(r"<[^>]+>", "x", path)
        pages.append("/admin/" + path.lstrip("^").rstrip("$"))
    return sorted(set(pages))


# django-axes' records and django-tasks-db's results: their entries in the sidebar are
# checked on every page, their own pages name records in English in code
# (AccessLog.__str__ and the like), a known gap.
THIRD_PARTY = ("/admin/axes/", "/admin/django_tasks_database/")


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_a_role_reaches_is_in_swedish(client, stored, role):
    agency, booking = stored
    user = make_user_in_role(role, agency)
    objects = stored_objects(agency, booking, user)
    client.force_login(user)
    # What the test stored, and the API key's random prefix (which may spell "by").
    data = [user.username, agency.slug, "deal.updated", "/deals/d1/viewings"]
    data += ApiKey.objects.values_list("prefix", flat=True)
    data += type(user).objects.values_list("username", flat=True)  # on the user list
    pages = [
        *(page for page in admin_pages(objects) if not page.startswith(THIRD_PARTY)),
        reverse("admin:bookings_datarequest_buyer") + "?email=asa@exempel.se",
    ]

    english = {}
    for page in pages:
        response = client.get(page, HTTP_ACCEPT_LANGUAGE="sv")
        if response.status_code == 200:
            english[page] = english_on(response.content.decode(), data)

    assert english[reverse("admin:index")] == []  # the start page is among them
    assert {page: words for page, words in english.items() if words} == {}


def test_a_data_requests_rows_are_named_by_kind(client, own):
    DataRequest.objects.create(
        kind=DataRequest.Kind.ERASURE,
        agency=own,
        channel=DataRequest.Channel.COMMAND,
        email_digest="0" * 64,
        counts={"bookings": 2, "delivery_attempts": 3, "cancelled": 1, "being_sent": 0},
    )
    client.force_login(make_user_in_role("administrator", own))

    page = client.get(reverse("admin:bookings_datarequest_changelist")).text

    assert "Bokningar 2, Leveransförsök 3, avbokade först 1, lämnade under sändning 0" in page


def test_permissions_are_named_in_swedish_on_the_group_page(client, db):
    client.force_login(make_user_in_role("superuser", make_agency()))

    page = client.get(reverse("admin:auth_group_add"), HTTP_ACCEPT_LANGUAGE="sv").text

    assert "Bokningar | får lägga till bokning" in page
    assert "Can add booking" not in page

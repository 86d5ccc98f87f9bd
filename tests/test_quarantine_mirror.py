import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agencies.models import Membership, Provider
from bookings.delivery import sending
from bookings.intake.service import accept_booking
from bookings.models import Booking, QuarantineDecision
from bookings.quarantine import queries as quarantine
from tests.factories import (
    delivered_booking,
    make_agency,
    make_mixed_user,
    make_slot_viewing,
    make_staff_user,
    make_viewing,
    unsaved_booking,
)

MIRROR = reverse("admin:quarantine_mirror")
DECIDE = reverse("admin:quarantine_decide")


@pytest.fixture
def agency(db):
    return make_agency(name="Mäklarna")


@pytest.fixture
def viewing(agency):
    return make_viewing(agency)


@pytest.fixture
def member(agency):
    return make_staff_user(agency, username="member")


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # texts asserted in English
    return client


def test_entries_merge_by_email_as_the_sandbox_mspecs_quarantine_does(db, sandbox):
    agency = make_agency(sandbox=sandbox)
    sandbox.set_deal("deal-1", {"slot-1": 10})
    ordinary = make_viewing(agency)
    slotted = make_slot_viewing(agency, "deal-1", ["slot-1"])
    slot = slotted.slots.get()
    submitted = [
        (ordinary, None, "Anna", "Berg", "anna@example.se", "+46701111111"),
        (ordinary, None, "Bo", "Ek", "bo@example.se", "+46703333333"),
        (slotted, slot, "Cia", "Holm", "cia@example.se", "+46704444444"),
    ]
    for viewing, slot_of, first, last, email, phone in submitted:
        booking = unsaved_booking(
            viewing, slot_of, first_name=first, last_name=last, email=email, phone=phone
        )
        accept_booking(booking)
        assert sending.deliver(booking.pk) == Booking.Status.DELIVERED
    # A correction sent while the first booking stands is refused as a duplicate.
    correction = unsaved_booking(
        ordinary, first_name="Anna", last_name="Berg-Lind", email="ANNA@example.se"
    )
    with pytest.raises(ValidationError):
        correction.full_clean()
    superuser = make_staff_user(username="root")
    superuser.is_superuser = True

    entries = quarantine.with_bookings(quarantine.pending_entries(superuser))

    mirrored = {
        (e.viewing.provider_viewing_id, e.email): {
            "firstName": e.current.first_name,
            "lastName": e.current.last_name,
            "phoneNumber": e.current.phone,
            "bookings": e.merged,
        }
        for e in entries
    }
    held = {
        (viewing.provider_viewing_id, email): {k: v for k, v in viewer.items() if k != "email"}
        for viewing, slot_id in [(ordinary, None), (slotted, "slot-1")]
        for email, viewer in sandbox.quarantine(viewing.provider_viewing_id, slot_id).items()
    }
    assert mirrored == held
    assert len(mirrored) == 3


def test_entry_lists_its_booking_with_its_age(viewing):
    # One live booking per buyer and viewing: an entry has one booking (migration 0018 set
    # aside the second ones made before the rule).
    now = timezone.now()
    first = delivered_booking(
        viewing, first_name="Anna", email="anna@example.se", delivered_at=now - timedelta(days=2)
    )
    superuser = make_staff_user(username="root")
    superuser.is_superuser = True

    [entry] = quarantine.with_bookings(quarantine.pending_entries(superuser))

    assert entry.bookings == [first]
    assert entry.merged == 1
    assert entry.oldest == first.delivered_at
    assert timedelta(days=2) <= entry.age < timedelta(days=2, minutes=1)


def test_only_delivered_bookings_of_mspecs_agencies_are_mirrored(viewing, member):
    delivered_booking(viewing, email="in@example.se")
    unsaved_booking(viewing, email="queued@example.se").save()
    vitec = make_agency(provider=Provider.VITEC)
    member.memberships.create(agency=vitec)
    vitec_viewing = make_slot_viewing(vitec, "", ["v1"])
    delivered_booking(vitec_viewing, vitec_viewing.slots.get(), email="vitec@example.se")

    emails = [row["email"] for row in quarantine.pending_entries(member)]

    assert emails == ["in@example.se"]


def test_page_says_vitec_agencies_have_no_quarantine(member_client, member):
    member.memberships.create(agency=make_agency(provider=Provider.VITEC, name="Vitecbyrån"))

    page = member_client.get(MIRROR).content.decode()

    assert "Vitecbyrån" in page
    assert "Their broker systems have no quarantine" in page
    assert "no route to read the quarantine" in page


def test_page_shows_entries_with_links_to_their_bookings(member_client, viewing):
    booking = delivered_booking(viewing, first_name="Anna", email="anna@example.se")

    response = member_client.get(MIRROR)

    assert response.status_code == 200
    assert [e.email for e in response.context["entries"]] == ["anna@example.se"]
    assert reverse("admin:bookings_booking_change", args=[booking.pk]) in response.content.decode()


@pytest.mark.parametrize("params", [{}, {"format": "csv"}, {"format": "excel"}])
def test_mirror_needs_a_staff_login(client, db, params):
    response = client.get(MIRROR, params)

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_recorded_decision_removes_the_entry_from_pending(member_client, member, viewing):
    delivered_booking(viewing, email="anna@example.se")
    delivered_booking(viewing, email="bo@example.se")

    response = member_client.post(
        DECIDE, {"viewing": viewing.pk, "email": "anna@example.se", "decision": "approved"}
    )

    assert response.status_code == 302
    decision = QuarantineDecision.objects.get()
    assert (decision.decision, decision.decided_by) == ("approved", member)
    remaining = member_client.get(MIRROR).context["entries"]
    assert [e.email for e in remaining] == ["bo@example.se"]


def test_invalid_decision_is_refused_with_a_message(member_client, viewing):
    delivered_booking(viewing, email="anna@example.se")

    response = member_client.post(
        DECIDE,
        {"viewing": viewing.pk, "email": "anna@example.se", "decision": "maybe"},
        follow=True,
    )

    assert "not recorded" in response.content.decode()
    assert not QuarantineDecision.objects.exists()


def test_decision_for_another_agencys_viewing_is_not_found(member_client):
    other_viewing = make_viewing(make_agency())
    delivered_booking(other_viewing, email="anna@example.se")

    response = member_client.post(
        DECIDE, {"viewing": other_viewing.pk, "email": "anna@example.se", "decision": "declined"}
    )

    assert response.status_code == 404
    assert not QuarantineDecision.objects.exists()


def test_decision_for_an_email_without_delivered_bookings_is_not_found(member_client, viewing):
    response = member_client.post(
        DECIDE, {"viewing": viewing.pk, "email": "nobody@example.se", "decision": "declined"}
    )

    assert response.status_code == 404


@pytest.mark.parametrize("export", ["csv", "excel"])
def test_another_agencys_entries_are_invisible_in_list_and_csv(member_client, viewing, export):
    delivered_booking(viewing, email="mine@example.se")
    delivered_booking(make_viewing(make_agency()), email="theirs@example.se")

    listed = member_client.get(MIRROR)
    exported = member_client.get(MIRROR, {"format": export}).content.decode()

    assert [e.email for e in listed.context["entries"]] == ["mine@example.se"]
    assert "theirs@example.se" not in listed.content.decode()
    assert "mine@example.se" in exported
    assert "theirs@example.se" not in exported


def test_csv_export_has_one_row_per_entry(member_client, viewing):
    delivered_booking(viewing, first_name="Anna", email="anna@example.se", phone="+46701111111")

    response = member_client.get(MIRROR, {"format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    header, row = list(csv.reader(io.StringIO(response.content.decode())))
    entry = dict(zip(header, row, strict=True))
    assert entry["email"] == "anna@example.se"
    assert entry["name in MSPECS"] == "Anna Andersson"
    assert entry["merged bookings"] == "1"
    assert entry["name conflict"] == "no"
    assert entry["all names and phones, newest first"] == "Anna Andersson +46701111111"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "berg"}, {"anna@example.se"}),
        ({"q": "bo@"}, {"bo@example.se"}),
        ({"q": "anna berg"}, {"anna@example.se"}),
        ({"conflicts": "on"}, set()),
        ({"age": "3"}, {"bo@example.se"}),
        ({"age": "not-a-number"}, {"anna@example.se", "bo@example.se"}),
    ],
)
def test_filters_and_search(member_client, viewing, params, expected):
    delivered_booking(viewing, first_name="Anna", last_name="Berg", email="anna@example.se")
    delivered_booking(
        viewing,
        first_name="Bo",
        last_name="Ek",
        email="bo@example.se",
        delivered_at=timezone.now() - timedelta(days=4),
    )

    entries = member_client.get(MIRROR, params).context["entries"]

    assert {e.email for e in entries} == expected


def test_filter_by_agency_and_viewing(client, agency, viewing):
    other_agency = make_agency()
    user = make_staff_user(agency, other_agency, username="both")
    client.force_login(user)
    other_viewing = make_viewing(other_agency)
    delivered_booking(viewing, email="a@example.se")
    delivered_booking(other_viewing, email="b@example.se")

    by_agency = client.get(MIRROR, {"agency": other_agency.pk}).context["entries"]
    by_viewing = client.get(MIRROR, {"viewing": viewing.pk}).context["entries"]

    assert [e.email for e in by_agency] == ["b@example.se"]
    assert [e.email for e in by_viewing] == ["a@example.se"]


def test_sort_by_age(member_client, viewing):
    now = timezone.now()
    delivered_booking(viewing, email="old@example.se", delivered_at=now - timedelta(days=3))
    delivered_booking(viewing, email="new@example.se", delivered_at=now)

    oldest_first = member_client.get(MIRROR).context["entries"]
    newest_first = member_client.get(MIRROR, {"sort": "newest"}).context["entries"]

    assert [e.email for e in oldest_first] == ["old@example.se", "new@example.se"]
    assert [e.email for e in newest_first] == ["new@example.se", "old@example.se"]


def test_pages_hold_a_bounded_number_of_entries(member_client, viewing):
    for number in range(quarantine_views_page_size() + 1):
        delivered_booking(viewing, email=f"buyer{number}@example.se")

    first = member_client.get(MIRROR)
    second = member_client.get(MIRROR, {"page": 2})

    assert len(first.context["entries"]) == quarantine_views_page_size()
    assert len(second.context["entries"]) == 1


def quarantine_views_page_size():
    from bookings.quarantine.views import PAGE_SIZE

    return PAGE_SIZE


def test_mirror_is_swedish_by_default(client, member, viewing):
    delivered_booking(viewing, email="a@example.se")
    client.force_login(member)

    index = client.get(reverse("admin:index")).content.decode()

    assert "Karantänspegel (MSPECS)" in index
    assert "1 väntar i karantän" in index
    assert "Exportera CSV" in client.get(MIRROR).content.decode()


def test_admin_index_shows_pending_count_per_agency(member_client, viewing):
    delivered_booking(viewing, email="a@example.se")
    delivered_booking(viewing, email="b@example.se")
    QuarantineDecision.objects.create(viewing=viewing, email="b@example.se", decision="approved")

    page = member_client.get(reverse("admin:index")).content.decode()

    assert MIRROR in page
    assert "Mäklarna" in page
    assert "1 waiting in quarantine" in page


def bulk_delivered(viewings, count, first=0):
    """`count` delivered bookings of emails numbered from `first`, one per email, in turn
    on each of `viewings`."""
    now = timezone.now()
    Booking.objects.bulk_create(
        Booking(
            viewing=viewings[number % len(viewings)],
            first_name="Buyer",
            last_name=str(number % 3),
            email=f"buyer{number}@example.se",
            phone="+46701111111",
            status=Booking.Status.DELIVERED,
            delivered_at=now - timedelta(minutes=number),
        )
        for number in range(first, first + count)
    )


@pytest.mark.parametrize("filtered", [False, True])
def test_page_queries_do_not_grow_with_bookings(
    member_client, agency, filtered, django_assert_max_num_queries
):
    viewings = [make_viewing(agency) for _ in range(5)]
    params = {"q": "buyer", "page": "2"}
    if filtered:
        params = {"viewing": viewings[0].pk, "sort": "newest"}
    bulk_delivered(viewings, 10)
    with CaptureQueriesContext(connection) as at_ten:
        member_client.get(MIRROR, params)
    bulk_delivered(viewings, 3000, first=10)

    with django_assert_max_num_queries(len(at_ten)):
        response = member_client.get(MIRROR, params)

    assert response.context["entries"]


def test_csv_export_of_many_entries(member_client, agency):
    bulk_delivered([make_viewing(agency)], 1200)

    rows = list(
        csv.reader(io.StringIO(member_client.get(MIRROR, {"format": "csv"}).content.decode()))
    )

    assert len(rows) == 1 + 1200  # header, then an entry per booking


@pytest.mark.parametrize("first_name", ["=HYPERLINK(1)", "+1", "-1", "@SUM(1)", "\tTab", "\rCr"])
def test_csv_export_quotes_names_a_spreadsheet_would_run_as_formulas(
    member_client, viewing, first_name
):
    delivered_booking(viewing, first_name=first_name, email="anna@example.se")

    response = member_client.get(MIRROR, {"format": "csv"})

    header, row = list(csv.reader(io.StringIO(response.content.decode(), newline="")))
    entry = dict(zip(header, row, strict=True))
    assert entry["name in MSPECS"] == f"'{first_name} Andersson"
    assert entry["all names and phones, newest first"].startswith(f"'{first_name} ")
    assert entry["email"] == "anna@example.se"


def test_entry_whose_bookings_changed_status_since_grouping_is_skipped(member, viewing):
    delivered_booking(viewing, email="anna@example.se")
    rows = list(quarantine.pending_entries(member))
    Booking.objects.update(status=Booking.Status.CANCELLED)

    assert quarantine.with_bookings(rows) == []


def exported_entry(client, export="csv"):
    """The one entry of an export, by column, and the export's raw text."""
    response = client.get(MIRROR, {"format": export})
    delimiter = {"csv": ",", "excel": ";"}[export]
    text = response.content.decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return dict(zip(header, row, strict=True)), text


@pytest.mark.parametrize("export", ["csv", "excel"])
def test_csv_export_quotes_every_cell(member_client, viewing, export):
    delivered_booking(viewing, email="anna@example.se")
    delimiter = {"csv": ",", "excel": ";"}[export]

    entry, text = exported_entry(member_client, export)

    header_line, row_line = text.splitlines()
    assert header_line == delimiter.join(f'"{name}"' for name in quarantine.CSV_HEADER)
    assert f'{delimiter}"1"{delimiter}' in row_line  # numbers too
    assert entry["merged bookings"] == "1"


def test_excel_export_is_semicolon_separated_utf8_with_a_byte_order_mark(member_client, viewing):
    delivered_booking(viewing, first_name="Åsa", email="asa@example.se")

    response = member_client.get(MIRROR, {"format": "excel"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="quarantine-mirror-excel.csv"' in response["Content-Disposition"]
    assert response.content.startswith(b'\xef\xbb\xbf"agency";"viewing";')
    entry, _ = exported_entry(member_client, "excel")
    assert (entry["agency"], entry["name in MSPECS"]) == ("Mäklarna", "Åsa Andersson")


FORMULA_AT_A_SEPARATOR = [
    "Anna,=HYPERLINK(1)",
    "Anna;+1",
    "Anna; -1",
    "Anna\n@SUM(1)",
    "Anna\r\n=1+1",
    "Anna\t=cmd",
    "Anna|=cmd",
    "Anna\t\t-1",
]
SEPARATORS = re.compile(r"[,;|\t\r\n]")


def starts_a_formula(text: str) -> bool:
    return text.lstrip(" ")[:1] in ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("export", ["csv", "excel"])
@pytest.mark.parametrize("first_name", FORMULA_AT_A_SEPARATOR)
def test_csv_export_neutralises_a_formula_after_any_separator_in_a_cell(
    member_client, viewing, first_name, export
):
    delivered_booking(viewing, first_name=first_name, email="anna@example.se")

    entry, _ = exported_entry(member_client, export)

    for column in ("name in MSPECS", "all names and phones, newest first"):
        cell = entry[column]
        # Wherever a spreadsheet might cut the cell, no part starts a formula.
        position = 0
        for separator in [*SEPARATORS.finditer(cell), None]:
            end = separator.start() if separator else len(cell)
            assert not starts_a_formula(cell[position:end]), (column, cell)
            position = separator.end() if separator else end
        assert cell.replace("'", "").startswith(first_name)


def test_csv_export_leaves_ordinary_names_dates_and_hyphens_alone(member_client, viewing):
    delivered_booking(viewing, first_name="Anna-Karin", email="ak@example.se")

    entry, _ = exported_entry(member_client)

    assert entry["name in MSPECS"] == "Anna-Karin Andersson"
    assert "'" not in entry["oldest delivered"]


@pytest.mark.parametrize("language", ["en", "sv"])
def test_mirror_page_links_both_exports(client, member, viewing, language):
    client.force_login(member)

    page = client.get(MIRROR, {"q": "x"}, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    label = {"en": "Export for Excel", "sv": "Exportera för Excel"}[language]
    assert label in page
    assert "format=excel" in page and "format=csv" in page


def test_the_admin_site_registers_the_mirror_pages_at_their_old_paths():
    assert (MIRROR, DECIDE) == ("/admin/quarantine/", "/admin/quarantine/decide/")
    names = {getattr(pattern, "name", None) for pattern in admin.site.get_urls()}
    assert {"quarantine_mirror", "quarantine_decide"} <= names


def test_newest_first_sorts_entries_by_delivery(member_client, viewing):
    now = timezone.now()
    delivered_booking(viewing, email="long@example.se", delivered_at=now - timedelta(days=5))
    delivered_booking(viewing, email="recent@example.se", delivered_at=now - timedelta(days=1))

    newest_first = member_client.get(MIRROR, {"sort": "newest"}).context["entries"]
    oldest_first = member_client.get(MIRROR).context["entries"]

    assert [e.email for e in newest_first] == ["recent@example.se", "long@example.se"]
    assert [e.email for e in oldest_first] == ["long@example.se", "recent@example.se"]


def test_an_entry_decided_or_no_longer_delivered_leaves_the_mirror(member_client, viewing):
    first = delivered_booking(viewing, email="a@example.se")
    delivered_booking(viewing, email="b@example.se")
    QuarantineDecision.objects.create(viewing=viewing, email="b@example.se", decision="approved")
    Booking.objects.filter(pk=first.pk).update(status=Booking.Status.CANCELLED)

    assert member_client.get(MIRROR).context["entries"] == []


def test_more_entries_than_the_count_limit_say_more_than(member_client, viewing, monkeypatch):
    from bookings.quarantine import views

    monkeypatch.setattr(views, "COUNT_LIMIT", 2)
    for n in range(3):
        delivered_booking(viewing, email=f"buyer{n}@example.se")

    response = member_client.get(MIRROR)

    assert "more than 2 pending entries" in response.content.decode()
    assert len(response.context["entries"]) == 3


@pytest.mark.parametrize("role", ["superuser", "administrator", "staff", "mixed"])
def test_every_role_sees_the_entries_of_its_own_agencies_only(
    client, own, second, other, django_user_model, role
):
    users = {
        "superuser": lambda: django_user_model.objects.create_superuser("root", password="pw"),
        "administrator": lambda: make_staff_user(own, role=Membership.Role.ADMIN),
        "staff": lambda: make_staff_user(own),
        "mixed": lambda: make_mixed_user(own, second),
    }
    for agency in (own, second, other):
        delivered_booking(make_viewing(agency), email=f"{agency.slug}@example.se")
    client.force_login(users[role]())

    entries = client.get(MIRROR).context["entries"]

    expected = {
        "superuser": {own, second, other},
        "administrator": {own},
        "staff": {own},
        "mixed": {own, second},
    }[role]
    assert {e.email for e in entries} == {f"{agency.slug}@example.se" for agency in expected}

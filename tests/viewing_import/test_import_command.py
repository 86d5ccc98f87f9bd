"""`manage.py import_viewings AGENCY_SLUG SOURCE_ID` imports one deal or estate as the import
page does; `--list` prints what the agency can import, one `id<TAB>title` per line; a
failure exits non-zero with the reason in words. Against the sandbox over real HTTP."""

import io
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from agencies.models import Provider
from bookings.models import Viewing
from tests.factories import (
    mspecs_deal,
    mspecs_ordinary_viewing,
    mspecs_slot_viewing,
    vitec_viewing,
)

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
START = datetime(2031, 6, 10, 17, 0, tzinfo=STOCKHOLM)

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_viewings", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def vitec(make_agency, sandbox):
    agency = make_agency(Provider.VITEC, slug="vitec-byran")
    sandbox.set_vitec_estate(
        "estate-1",
        [vitec_viewing("vv-1", START, ["t-1"])],
        street_address="Ågatan 3",
        postal_town="Umeå",
    )
    sandbox.set_vitec_estate(
        "estate-2", [], street_address="Storgatan\t1\nUppgång B", postal_town="Luleå"
    )
    return agency


def test_list_prints_each_estate_as_id_tab_title(vitec):
    lines = run("vitec-byran", "--list").splitlines()

    assert lines == ["estate-1\tÅgatan 3, Umeå", "estate-2\tStorgatan 1 Uppgång B, Luleå"]


def test_a_listed_estate_is_imported_by_its_id(vitec):
    source_id = run("vitec-byran", "--list").splitlines()[0].split("\t")[0]

    output = run("vitec-byran", source_id)

    viewing = Viewing.objects.get(agency=vitec, source_id="estate-1")
    assert viewing.provider_viewing_id == "vv-1"
    assert "1 viewings imported (1 new)" in output
    assert "vv-1\t" in output


def test_an_mspecs_deal_is_imported_by_its_id(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS, slug="maklarhuset")
    sandbox.set_mspecs_deal(
        "deal-1",
        mspecs_deal(
            "deal-1",
            [
                mspecs_slot_viewing("v-slots", START, ["s-1", "s-2"]),
                mspecs_ordinary_viewing("v-open", START + timedelta(days=1)),
            ],
        ),
    )

    output = run("maklarhuset", "deal-1")

    imported = Viewing.objects.filter(agency=agency, source_id="deal-1")
    assert sorted(imported.values_list("provider_viewing_id", flat=True)) == ["v-open", "v-slots"]
    assert imported.get(provider_viewing_id="v-slots").slots.count() == 2
    assert "2 viewings imported (2 new)" in output


def test_importing_again_adds_nothing(vitec):
    run("vitec-byran", "estate-1")

    output = run("vitec-byran", "estate-1")

    assert "1 viewings imported (0 new)" in output
    assert Viewing.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("no-such-agency", "estate-1"), "No agency with the slug 'no-such-agency'."),
        (("vitec-byran",), "Give either a deal or estate id to import, or --list."),
        (("vitec-byran", "estate-1", "--list"), "Give either a deal or estate id"),
        (("vitec-byran", "estate-404"), "estate-404 is not known to the broker system (HTTP 404)"),
        (("vitec-byran", "estate-2"), "estate-2 has no viewing with a time that buyers can book"),
        (("vitec-byran", "../estate"), "Not a broker id"),
        (("vitec-byran", "e" * 201), "at most 200 characters"),
        (("vitec-byran", "estate\x00"), "Not a broker id"),
    ],
    ids=["unknown agency", "no id", "id and list", "404", "nothing", "path", "long", "nul"],
)
def test_a_failure_is_refused_with_the_reason(vitec, sandbox, args, reason):
    with pytest.raises(CommandError) as error:
        run(*args)

    assert reason in str(error.value)
    assert not Viewing.objects.exists()


def test_a_hostile_id_is_refused_before_anything_is_called(vitec, sandbox):
    with pytest.raises(CommandError):
        run("vitec-byran", "estate/../../Advertising")

    assert sandbox.requests_served == 0


def test_an_agency_without_a_credential_is_told_so(db):
    from tests.factories import make_agency

    make_agency(Provider.VITEC, slug="bare", with_credential=False)

    for args in (("bare", "--list"), ("bare", "estate-1")):
        with pytest.raises(CommandError) as error:
            run(*args)
        assert "has no broker-system credential" in str(error.value)


def test_a_refused_credential_exits_non_zero_with_the_reason_and_no_secret(
    make_agency, sandbox, start_process
):
    make_agency(Provider.VITEC, slug="wrong-login", secret="hunter2-secret")

    for args in (("--list",), ("estate-1",)):
        process = start_process("import_viewings", "wrong-login", *args, capture=True)
        output = process.communicate(timeout=60)[0]

        assert process.returncode != 0
        # In the site's language (LANGUAGE_CODE, Swedish).
        assert "nekade byråns inloggningsuppgifter (HTTP 401)" in output
        assert "hunter2-secret" not in output

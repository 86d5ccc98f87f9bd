"""The log keeps buyers' personal data out (config/logs.py MaskPersonalData on the project's
log handler): what Django logs of a request (its query string), of a 500 (the exception,
with the values PostgreSQL quotes) and of SQL (the statement with its values) is masked as
the attempt excerpts are, at each door that logs: the admin, the public booking page, the
JSON API."""

import json
import logging

import pytest
from django.core import mail
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import path, reverse

from bookings.models import Booking
from config.logs import JsonFormatter, MaskPersonalData, PlainFormatter
from config.urls import urlpatterns as project_urlpatterns
from tests.factories import make_agency, make_user_in_role

pytestmark = pytest.mark.django_db

EMAIL = "zelda.zetterlund@example.se"
PHONE = "+46709876543"
NATIONAL_PHONE = "0709876543"
NAME = "Zetterlund"
PERSONAL = [EMAIL, "zetterlund@", PHONE, "709876543", NAME]
QUERY = f"email={EMAIL}&phone={NATIONAL_PHONE}&q={NAME}"


def assert_nothing_personal(text: str) -> None:
    assert text  # something was logged
    for value in PERSONAL:
        assert value not in text


@pytest.fixture(params=[PlainFormatter, JsonFormatter], ids=["plain", "json"])
def log(request, console_log):
    """The log as written in each LOG_FORMAT."""
    console_log.handler.setFormatter(request.param())
    return console_log


def test_a_staff_look_up_by_email_refused_with_403_logs_no_email(client, log):
    client.force_login(make_user_in_role("staff", make_agency()))

    response = client.get(reverse("admin:bookings_datarequest_buyer") + f"?{QUERY}")

    assert response.status_code == 403
    assert_nothing_personal(log.text())
    assert "email=***&phone=***&q=***" in log.text()


def test_an_unknown_booking_link_with_a_query_logs_no_values(client, log):
    client.get(f"/book/00000000-0000-0000-0000-000000000000/?{QUERY}")

    assert_nothing_personal(log.text())


def test_an_api_request_refused_with_401_logs_no_values(client, log):
    client.get(f"/api/v1/viewings?{QUERY}", HTTP_AUTHORIZATION="Bearer not-a-key")

    assert_nothing_personal(log.text())


def test_a_request_log_line_stays_one_json_object_with_its_fields(client, console_log):
    console_log.handler.setFormatter(JsonFormatter())

    client.get(f"/book/00000000-0000-0000-0000-000000000000/?{QUERY}", REMOTE_ADDR="192.0.2.4")

    entry = json.loads(console_log.text())
    assert entry["status_code"] == 404
    assert (
        entry["request"]
        == "GET /book/00000000-0000-0000-0000-000000000000/?email=***&phone=***&q=***"
    )
    assert entry["client_address"] == "192.0.2.4"


# A server error: the buyer's values reach the database, which refuses the row.


def insert_a_row_missing_its_viewing(request):
    """A failing INSERT of the buyer's values (PostgreSQL's error quotes the failing row)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bookings_booking (email, phone, last_name) VALUES (%s, %s, %s)",
            [EMAIL, NATIONAL_PHONE, NAME],
        )
    return HttpResponse()


def cast_the_name_to_a_number(request):
    """A failing cast of the buyer's name (PostgreSQL quotes it, and the statement's LINE)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::integer, %s", [NAME, EMAIL])
    return HttpResponse()


urlpatterns = [
    path("failing-insert/", insert_a_row_missing_its_viewing),
    path("failing-cast/", cast_the_name_to_a_number),
    *project_urlpatterns,
]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    "url", ["/failing-insert/", pytest.param("/failing-cast/", marks=pytest.mark.postgres)]
)
def test_a_server_error_logs_its_exception_without_the_sql_values(log, url):
    response = Client(raise_request_exception=False).get(url)

    assert response.status_code == 500
    assert "Traceback" in log.text()
    assert_nothing_personal(log.text())


@pytest.mark.urls(__name__)
def test_a_server_error_mails_nobody(settings, console_log):
    settings.ADMINS = ["ops@example.se"]

    Client(raise_request_exception=False).get("/failing-insert/")

    assert "Internal Server Error" in console_log.text()
    assert mail.outbox == []


@pytest.fixture
def sql_debug_log(console_log):
    """Django's SQL debug lines, as DEBUG=True with LOG_LEVEL=DEBUG writes them."""
    logger = logging.getLogger("django.db.backends")
    level = logger.level
    logger.setLevel(logging.DEBUG)  # not .level =: setLevel clears what loggers cached
    connection.force_debug_cursor = True
    yield console_log
    connection.force_debug_cursor = False
    logger.setLevel(level)


def test_the_sql_debug_log_carries_no_values(sql_debug_log):
    Booking.objects.filter(email=EMAIL, phone=NATIONAL_PHONE, last_name=NAME).exists()

    text = sql_debug_log.text()
    assert "SELECT" in text
    assert "'***'" in text
    assert_nothing_personal(text)


def test_a_log_call_whose_arguments_do_not_fit_is_masked_not_raised():
    record = logging.makeLogRecord({"msg": f"looked up {EMAIL}: %s %s", "args": ("one",)})

    assert MaskPersonalData().filter(record).getMessage() == ("looked up z***@example.se: %s %s")

"""The error pages (403, 404, 500 and a refused CSRF token) speak the reader's language, in
the public pages' look, through every door that raises them."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from tests.factories import make_staff_user
from tests.test_admin_in_swedish import english_on

pytestmark = pytest.mark.django_db

STYLESHEET = "/static/bookings/public.css"


def swedish(client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "sv"
    return client


def test_an_unknown_address_is_a_swedish_404(client):
    response = swedish(client).get("/ingen-sida-har/")

    assert response.status_code == 404
    assert "Vi hittar inte den här sidan" in response.text
    assert STYLESHEET in response.text
    assert english_on(response.text, []) == []


def test_an_unknown_admin_object_is_a_swedish_404(client, own):
    swedish(client).force_login(make_staff_user(own))

    response = client.get(reverse("admin:bookings_booking_history", args=[999999]))

    assert response.status_code == 404
    assert english_on(response.text, []) == []


def test_a_page_the_role_may_not_see_is_a_swedish_403(client, own):
    swedish(client).force_login(make_staff_user(own))  # staff may not look buyers up

    response = client.get(reverse("admin:bookings_datarequest_buyer"))

    assert response.status_code == 403
    assert "Du får inte se den här sidan" in response.text
    assert STYLESHEET in response.text
    assert english_on(response.text, []) == []


def test_a_server_error_is_a_swedish_500():
    request = RequestFactory().get("/")
    with translation.override("sv"):
        response = server_error(request)

    page = response.content.decode()
    assert response.status_code == 500
    assert "Något gick fel hos oss" in page
    assert STYLESHEET in page
    assert english_on(page, []) == []


def test_a_form_sent_without_its_csrf_token_is_refused_in_swedish(db):
    client = swedish(Client(enforce_csrf_checks=True))

    response = client.post(reverse("admin:login"), {"username": "x", "password": "y"})

    assert response.status_code == 403
    assert "Formuläret kunde inte skickas" in response.text
    assert "Forbidden" not in response.text
    assert english_on(response.text, []) == []

"""`/` leads somewhere useful: the admin (its login for visitors)."""

from django.urls import reverse


def test_the_root_redirects_to_the_admin(client, db):
    response = client.get("/", follow=True)

    assert response.redirect_chain[0] == (reverse("admin:index"), 302)
    assert response.status_code == 200
    assert "Viewing Bridge" in response.text


def test_the_admin_is_called_viewing_bridge_in_swedish(client, db):
    page = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="sv").text

    assert "<title>Logga in | Viewing Bridge</title>" in page
    assert "Django" not in page

import pytest
from django.urls import reverse

from agencies.models import ApiKey, hash_api_key

pytestmark = pytest.mark.django_db


def test_adding_a_key_shows_it_once_and_stores_only_its_hash(admin_client, mspecs_agency):
    response = admin_client.post(
        reverse("admin:agencies_apikey_add"), {"agency": mspecs_agency.pk, "name": "Website"}
    )

    raw_key = response.context["raw_key"]
    api_key = ApiKey.objects.get()
    assert response.status_code == 200
    assert raw_key in response.content.decode()
    assert api_key.key_hash == hash_api_key(raw_key)
    assert raw_key not in str(ApiKey.objects.values().get())
    assert ApiKey.authenticate(raw_key) == api_key
    change_page = admin_client.get(reverse("admin:agencies_apikey_change", args=[api_key.pk]))
    assert raw_key not in change_page.content.decode()


def test_revoke_action_stops_the_key_at_the_api(admin_client, client, api_key, slot_viewing):
    admin_client.post(
        reverse("admin:agencies_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [ApiKey.objects.get().pk]},
    )

    assert ApiKey.objects.get().revoked_at is not None
    response = client.get("/api/v1/viewings", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 401

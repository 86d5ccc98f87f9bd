import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from agencies.models import ProviderCredential
from tests.factories import make_agency


def stored_secret(credential):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM agencies_providercredential WHERE id = %s", [credential.pk]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def credential(db):
    return make_agency().credential


def test_the_database_column_never_holds_the_plaintext_secret(credential):
    column = stored_secret(credential)
    assert "sandbox-secret" not in column
    assert column.startswith("gAAAA")  # a Fernet token


def test_the_secret_reads_back_as_plaintext(credential):
    assert ProviderCredential.objects.get(pk=credential.pk).secret == "sandbox-secret"


def test_the_secret_is_not_in_repr_or_str(credential):
    assert "sandbox-secret" not in repr(credential)
    assert "sandbox-secret" not in str(credential)


def test_rotating_keys_rewrites_secrets_with_the_new_key(credential, settings):
    old_keys = settings.FIELD_ENCRYPTION_KEYS
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]

    call_command("rotate_secrets", stdout=None)

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert ProviderCredential.objects.get(pk=credential.pk).secret == "sandbox-secret"
    assert Fernet(new_key).decrypt(stored_secret(credential).encode()) == b"sandbox-secret"


# --- when the secret last changed ---------------------------------------------------------


def test_a_new_credential_records_when_its_secret_was_set(credential):
    assert credential.secret_changed_at is not None


def test_entering_a_new_secret_records_when(credential):
    before = credential.secret_changed_at

    credential.secret = "a-new-secret"
    credential.save()

    assert ProviderCredential.objects.get(pk=credential.pk).secret_changed_at > before


def test_saving_only_the_secret_records_when(credential):
    before = credential.secret_changed_at
    loaded = ProviderCredential.objects.get(pk=credential.pk)

    loaded.secret = "a-new-secret"
    loaded.save(update_fields=["secret"])

    assert ProviderCredential.objects.get(pk=credential.pk).secret_changed_at > before


@pytest.mark.parametrize("change", ["other_fields", "same_secret_again"])
def test_saving_the_same_secret_keeps_when_it_changed(credential, change):
    before = credential.secret_changed_at
    loaded = ProviderCredential.objects.get(pk=credential.pk)

    loaded.vitec_sms_reminder = True
    if change == "same_secret_again":
        loaded.secret = "sandbox-secret"
    loaded.save()

    assert ProviderCredential.objects.get(pk=credential.pk).secret_changed_at == before


def test_rotating_keys_keeps_when_the_secret_changed(credential, settings):
    before = credential.secret_changed_at
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]

    call_command("rotate_secrets", stdout=None)

    assert ProviderCredential.objects.get(pk=credential.pk).secret_changed_at == before


def test_update_or_create_with_the_same_secret_keeps_when_it_changed(credential):
    before = credential.secret_changed_at

    ProviderCredential.objects.update_or_create(
        agency=credential.agency, defaults={"secret": "sandbox-secret", "username": "sandbox"}
    )

    assert ProviderCredential.objects.get(pk=credential.pk).secret_changed_at == before


# --- the secret goes only where it was entered for -----------------------------------------

SCOPE_CHANGES = pytest.mark.parametrize(
    "name, value",
    [
        ("base_url", "https://test-integration.mspecs.se"),  # a real host, but not this one
        ("username", "someone-else"),
        ("vitec_customer_id", "another-customer"),
    ],
)


def loaded(credential):
    return ProviderCredential.objects.get(pk=credential.pk)


@SCOPE_CHANGES
def test_changing_where_the_secret_goes_without_entering_it_fails_validation(
    credential, name, value
):
    changed = loaded(credential)
    setattr(changed, name, value)

    with pytest.raises(ValidationError) as refused:
        changed.full_clean()

    assert list(refused.value.message_dict) == ["secret"]


@SCOPE_CHANGES
def test_changing_where_the_secret_goes_with_the_secret_entered_again_is_valid(
    credential, name, value
):
    changed = loaded(credential)
    setattr(changed, name, value)
    changed.secret = "sandbox-secret"  # the same one, typed again

    changed.full_clean()


def test_changing_other_fields_without_the_secret_is_valid(credential):
    changed = loaded(credential)
    changed.vitec_reminder_minutes = 30

    changed.full_clean()


def moved_with_the_secret_entered_again(credential):
    """A copy of `credential`, given a new base URL and its secret again, saved."""
    moved = loaded(credential)
    moved.base_url = "http://127.0.0.1:9/moved"
    moved.secret = "sandbox-secret"
    moved.save()
    return moved


def test_a_saved_change_is_what_the_next_change_is_compared_with(credential):
    changed = moved_with_the_secret_entered_again(credential)

    changed.username = "someone-else"

    with pytest.raises(ValidationError):
        changed.full_clean()


def test_a_refreshed_credential_compares_with_the_refreshed_values(credential):
    moved_with_the_secret_entered_again(credential)

    credential.refresh_from_db()

    credential.full_clean()
    assert credential.base_url == "http://127.0.0.1:9/moved"


def test_a_credential_loaded_without_its_secret_still_needs_it_for_a_new_address(credential):
    changed = ProviderCredential.objects.only("pk", "agency", "base_url").get(pk=credential.pk)
    changed.base_url = "https://test-integration.mspecs.se"

    with pytest.raises(ValidationError):
        changed.full_clean()

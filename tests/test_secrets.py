import pytest
from cryptography.fernet import Fernet
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

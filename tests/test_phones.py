import pytest
from django.core.exceptions import ValidationError

from bookings.phones import normalise_phone


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("070-111 11 11", "SE", "+46701111111"),
        ("0701111111", "SE", "+46701111111"),
        ("+46 70 111 11 11", "SE", "+46701111111"),
        ("0046701111111", "SE", "+46701111111"),
        ("08-123 456 78", "SE", "+46812345678"),
        ("+47 412 34 567", "SE", "+4741234567"),
        ("412 34 567", "NO", "+4741234567"),
        ("+44 7911 123456", "SE", "+447911123456"),
    ],
)
def test_phone_numbers_are_stored_in_e164(typed, region, e164):
    assert normalise_phone(typed, region) == e164


@pytest.mark.parametrize("typed", ["", "hello", "070", "+46 70 111 11 11 11 11", "12345"])
def test_invalid_phone_numbers_are_refused(typed):
    with pytest.raises(ValidationError) as error:
        normalise_phone(typed, "SE")
    assert error.value.code == "invalid_phone"

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def normalise_phone(raw: str, region: str) -> str:
    """Parse a phone number as typed (`070-111 11 11`, `+46 70 111 11 11`, `0046…`) and
    return it in E.164 (`+46701111111`); numbers without a country prefix are read in
    the agency's region."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("Enter a valid phone number, e.g. 070-123 45 67 or +46 70 123 45 67."),
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

from django import forms
from django.utils.translation import gettext_lazy as _

from agencies.models import ApiKey
from bookings.consent import consent_sentence, record_consent
from bookings.intake.validators import validate_public_email_domain
from bookings.models import Booking, Viewing


class BookingRequestForm(forms.ModelForm):
    """What a buyer submits, on the public page or through the JSON API. Validation beyond
    the types is the model's own (Booking.clean), which ModelForm runs and whose errors it
    shows on their fields."""

    consent = forms.BooleanField(
        error_messages={"required": _("You must consent before you can book.")},
        widget=forms.CheckboxInput(attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = Booking
        fields = ["slot", "first_name", "last_name", "email", "phone", "message"]
        labels = {
            "slot": _("Time"),
            "first_name": _("First name"),
            "last_name": _("Last name"),
            "email": _("Email"),
            "phone": _("Mobile phone"),
            "message": _("Message to the broker"),
        }
        # Every field says what a browser may fill in (autocomplete); the phone is a tel
        # input, so a phone shows its number pad.
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "phone": forms.TextInput(
                attrs={"type": "tel", "autocomplete": "tel", "aria-describedby": "phone-hint"}
            ),
            "message": forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        }

    def __init__(self, *args, viewing: Viewing, source: str, language: str, **kwargs):
        booking = Booking(viewing=viewing, source=source, language=language)
        super().__init__(*args, instance=booking, **kwargs)
        self.fields["consent"].label = consent_sentence(viewing.agency)
        self.fields["email"].validators.append(validate_public_email_domain)
        # Slots are named by the provider's id, among the viewing's own: whether one can
        # be booked (full, passed, or a viewing without slots) is the model's to say.
        self.fields["slot"].queryset = viewing.slots.all()
        self.fields["slot"].to_field_name = "provider_slot_id"
        self.fields["slot"].error_messages["invalid_choice"] = _(
            "That time is not available; choose another."
        )

    def consented_booking(self, api_key: ApiKey | None = None) -> Booking:
        """The validated, unsaved booking for accept_booking, with its consent record."""
        return record_consent(self.instance, api_key)


class PublicBookingForm(BookingRequestForm):
    # Hidden from people (CSS and aria-hidden); bots fill every field they see.
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    # What a switch of language keeps (bookings/intake/views.py): what the buyer typed and
    # the time they chose. Not the consent: its sentence is now in another language.
    KEPT_ON_LANGUAGE_SWITCH = ("slot", "first_name", "last_name", "email", "phone", "message")

    @classmethod
    def kept_values(cls, data) -> dict[str, str]:
        return {name: data[name] for name in cls.KEPT_ON_LANGUAGE_SWITCH if name in data}

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise forms.ValidationError(_("Leave this field empty."), code="honeypot")
        return ""

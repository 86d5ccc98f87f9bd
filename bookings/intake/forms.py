from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking, Viewing


class BookingRequestForm(forms.ModelForm):
    """What a buyer submits, on the public page or through the JSON API. Validation beyond
    the types is the model's own (Booking.clean), which ModelForm runs and whose errors it
    shows on their fields."""

    consent = forms.BooleanField(
        label=_("I consent to the agency processing my personal data to handle this booking."),
        error_messages={"required": _("You must consent before you can book.")},
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
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "phone": forms.TextInput(
                attrs={"autocomplete": "tel", "inputmode": "tel", "aria-describedby": "phone-hint"}
            ),
            "message": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, viewing: Viewing, source: str, **kwargs):
        super().__init__(*args, instance=Booking(viewing=viewing, source=source), **kwargs)
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        # Slots are named by the broker system's id, among the viewing's own: whether one can
        # be booked (full, passed, or a viewing without slots) is the model's to say.
        self.fields["slot"].queryset = viewing.slots.all()
        self.fields["slot"].to_field_name = "provider_slot_id"
        self.fields["slot"].error_messages["invalid_choice"] = _(
            "That time is not available; choose another."
        )

    def consented_booking(self) -> Booking:
        """The validated, unsaved booking for accept_booking, with the time of consent."""
        self.instance.consent_given_at = timezone.now()
        return self.instance


class PublicBookingForm(BookingRequestForm):
    # Hidden from people (CSS and aria-hidden); bots fill every field they see.
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise forms.ValidationError(_("Leave this field empty."), code="honeypot")
        return ""

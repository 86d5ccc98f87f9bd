import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.fields import EncryptedTextField
from agencies.problems import Problem, ProblemField
from agencies.validators import validate_provider_id


class BrokerSystem(models.TextChoices):
    MSPECS = "mspecs", "MSPECS"
    VITEC = "vitec", "Vitec Express"


def validate_phone_region(value: str) -> None:
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            _("%(value)s is not a known phone region; use a two-letter country code such as SE."),
            params={"value": value},
            code="unknown_region",
        )


class AgencyScopedQuerySet(models.QuerySet):
    """Rows of the agencies a signed-in user may work on (all of them for a superuser).

    `agency_lookup` is the path from the model to its Agency ("" for Agency itself)."""

    agency_lookup = "agency__"

    def for_user(self, user):
        if user.is_superuser:
            return self
        return self.filter(**{f"{self.agency_lookup}memberships__user": user})


class AgencyQuerySet(AgencyScopedQuerySet):
    agency_lookup = ""


class Agency(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    broker_system = models.CharField(max_length=10, choices=BrokerSystem.choices)
    phone_region = models.CharField(
        max_length=2,
        default="SE",
        validators=[validate_phone_region],
        help_text=_("Country whose numbering plan applies to phone numbers without a +prefix."),
    )
    is_active = models.BooleanField(default=True)
    # Shorter than the operator's BOOKING_RETENTION_DAYS only (see clean); empty: theirs.
    booking_retention_days = models.PositiveIntegerField(
        _("booking retention (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Days after a viewing ends before its bookings are anonymised. Empty: the "
            "operator's period, which is also the longest allowed."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self):
        return self.name

    def clean(self):
        self.phone_region = (self.phone_region or "").upper()
        longest = settings.BOOKING_RETENTION_DAYS
        if self.booking_retention_days is not None and self.booking_retention_days > longest:
            raise ValidationError(
                {
                    "booking_retention_days": ValidationError(
                        _("At most %(days)d days: the operator's retention period."),
                        params={"days": longest},
                        code="retention_too_long",
                    )
                }
            )

    @property
    def booking_retention(self) -> timedelta:
        """How long after a viewing ends its bookings keep their personal data: the
        agency's own period, never longer than the operator's."""
        days = settings.BOOKING_RETENTION_DAYS
        if self.booking_retention_days is not None:
            days = min(days, self.booking_retention_days)
        return timedelta(days=days)


# The API hosts each broker system really uses; an operator adds others (a proxy, the
# sandbox) in settings.BROKER_ALLOWED_HOSTS.
VENDOR_HOSTS = {
    BrokerSystem.MSPECS: frozenset({"integration.mspecs.se", "test-integration.mspecs.se"}),
    BrokerSystem.VITEC: frozenset({"connect.maklare.vitec.net"}),
}


def operator_allowed_hosts() -> dict[str, bool]:
    """settings.BROKER_ALLOWED_HOSTS as {host: plain http allowed too}. An entry is a host
    name or `https://host` (https only), or `http://host` (plain http too, any port)."""
    allowed = {}
    for entry in settings.BROKER_ALLOWED_HOSTS:
        scheme, _, host = entry.strip().lower().rpartition("://")
        if host:
            allowed[host.strip("[]")] = scheme == "http"  # "[::1]" is "::1" in a URL's hostname
    return allowed


def validate_provider_url(url: str, broker_system: str | None = None) -> None:
    """The rules for a broker system's base URL (and every URL called under it): https
    (or plain http where the operator allowed it), no user info, query or fragment, and a
    host the broker system uses or the operator added."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValidationError(_("Enter a valid URL."), code="invalid") from None
    host = (parts.hostname or "").lower()
    operator_hosts = operator_allowed_hosts()
    errors = []
    if parts.scheme != "https" and not (parts.scheme == "http" and operator_hosts.get(host)):
        errors.append(
            ValidationError(
                _("Use an https:// address (plain http only where the operator allowed it)."),
                code="scheme",
            )
        )
    if parts.username is not None or parts.password is not None:
        errors.append(
            ValidationError(_("Leave the user name and password out of the address."), "userinfo")
        )
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        errors.append(
            ValidationError(_("The address may not have a query (?) or fragment (#)."), "query")
        )
    vendor_hosts = (
        VENDOR_HOSTS[broker_system] if broker_system else frozenset().union(*VENDOR_HOSTS.values())
    )
    if host not in vendor_hosts and host not in operator_hosts:
        errors.append(
            ValidationError(
                _(
                    "%(host)s is not an address of this broker system; use %(hosts)s, or ask "
                    "the operator to add the host to BROKER_ALLOWED_HOSTS."
                ),
                code="host",
                params={"host": host or "?", "hosts": ", ".join(sorted(vendor_hosts))},
            )
        )
    if errors:
        raise ValidationError(errors)


class CredentialStatus(models.TextChoices):
    UNTESTED = "untested", _("Not tested yet")
    OK = "ok", _("Working")
    FAILING = "failing", _("Failing: bookings are held")


# Where the secret is sent and which login it opens (Vitec's customer id scopes the login).
# Changing any of them needs the secret entered again: see ProviderCredential.clean.
SECRET_SCOPE_FIELDS = ["base_url", "username", "vitec_customer_id"]


class ProviderCredential(models.Model):
    """How Viewing Bridge signs in to an agency's broker system, and the booking defaults.

    The secret is never shown back; the instance tracks whether it was entered (assigned)
    since it was loaded, and the stored values it is compared against."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="credential")
    base_url = models.URLField(help_text=_("API root, e.g. https://connect.maklare.vitec.net"))
    username = models.CharField(max_length=200)
    secret = EncryptedTextField(help_text=_("Password or API secret; stored encrypted."))
    secret_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Vitec Express only (ignored for MSPECS).
    vitec_customer_id = models.CharField(
        max_length=100, blank=True, validators=[validate_provider_id]
    )
    vitec_lead_source_id = models.CharField(
        max_length=100, blank=True, validators=[validate_provider_id]
    )
    vitec_mail_confirmation = models.BooleanField(default=True)
    vitec_sms_confirmation = models.BooleanField(default=False)
    vitec_sms_reminder = models.BooleanField(default=False)
    vitec_reminder_minutes = models.PositiveIntegerField(default=120)
    vitec_deadline_validation = models.BooleanField(default=True)
    vitec_booking_limit_validation = models.BooleanField(default=True)

    status = models.CharField(
        max_length=10, choices=CredentialStatus.choices, default=CredentialStatus.UNTESTED
    )
    status_problem = ProblemField(_("status detail"))
    status_changed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgencyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "broker-system credential"

    def __str__(self):
        return f"{self.agency} ({self.agency.get_broker_system_display()})"

    def __repr__(self):
        # Never let the secret reach a log line or a traceback.
        return f"<ProviderCredential agency={self.agency_id} user={self.username!r}>"

    def __setattr__(self, name, value):
        if name == "secret":
            # Entered by a form, a command or code, rather than kept as loaded.
            super().__setattr__("secret_entered", True)
        super().__setattr__(name, value)

    def save(self, **kwargs):
        update_fields = kwargs.get("update_fields")
        saves_secret = update_fields is None or "secret" in update_fields
        if saves_secret and (self._state.adding or self.differs_from_stored("secret")):
            self.secret_changed_at = timezone.now()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "secret_changed_at"}
        super().save(**kwargs)
        self.remember_stored(update_fields)

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        credential = super().from_db(db, field_names, values, **kwargs)
        credential.remember_stored(field_names)
        credential.secret_entered = False
        return credential

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using, fields, from_queryset)
        self.remember_stored(fields)

    def remember_stored(self, field_names=None) -> None:
        """Note these fields' (by default all fields') current values as the ones in the
        database."""
        if field_names is None:
            field_names = [field.attname for field in self._meta.concrete_fields]
        stored = self.__dict__.setdefault("stored_values", {})
        for name in {*SECRET_SCOPE_FIELDS, "secret"}.intersection(field_names):
            if name in self.__dict__:  # not deferred
                stored[name] = self.__dict__[name]
        if "secret" in field_names:
            self.secret_entered = False

    def differs_from_stored(self, name: str) -> bool:
        """Whether field `name` holds a value other than the stored one (deferred: it does not)."""
        missing = object()
        value = self.__dict__.get(name, missing)
        stored = self.__dict__.get("stored_values", {})
        return value is not missing and value != stored.get(name, missing)

    def clean_fields(self, exclude=None):
        # Cleaning assigns every field its cleaned value: that is not entering the secret.
        entered = self.__dict__.get("secret_entered", False)
        try:
            super().clean_fields(exclude)
        finally:
            self.secret_entered = entered

    def secret_scope_changed(self) -> bool:
        """The address, user name or customer id changed while the stored secret was kept:
        saving would send that secret somewhere it was never entered for."""
        if self._state.adding or self.secret_entered:
            return False
        return any(self.differs_from_stored(name) for name in SECRET_SCOPE_FIELDS)

    def clean(self):
        errors = {}
        broker_system = self.agency.broker_system if self.agency_id else None
        if self.base_url:
            try:
                validate_provider_url(self.base_url, broker_system)
            except ValidationError as error:
                errors["base_url"] = error
        if broker_system == BrokerSystem.VITEC and not self.vitec_customer_id:
            errors["vitec_customer_id"] = _("Vitec Express needs the agency's customer id.")
        if self.secret_scope_changed():
            errors["secret"] = _(
                "Enter the secret again: it is never sent to a changed base URL, user name "
                "or customer id without being entered for them."
            )
        if errors:
            raise ValidationError(errors)

    def mark_status(self, status: str, problem: Problem | None = None) -> None:
        self.status = status
        self.status_problem = problem
        self.status_changed_at = timezone.now()
        # Not `updated_at`: it marks changes of the connection details, which a late
        # refusal of an old secret is checked against (the credential lifecycle in `bookings`).
        self.save(update_fields=["status", "status_problem", "status_changed_at"])


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        STAFF = "staff", _("Staff")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="unique_membership"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.agency}"


def hash_api_key(raw_key: str) -> str:
    # Keys are 256 random bits, so a plain SHA-256 is enough; no slow KDF needed.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(AgencyScopedQuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, agency__is_active=True)

    def revoke(self) -> int:
        """Revoke the keys not revoked yet; returns how many."""
        return self.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class ApiKey(models.Model):
    """A key an agency's website or portal uses for the JSON intake API; stored hashed."""

    PREFIX_LENGTH = 8

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text=_("Who uses it, e.g. 'Agency website'."))
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, agency: Agency, name: str) -> tuple["ApiKey", str]:
        """Create a key; the raw key is returned once and never stored."""
        api_key = cls(agency=agency, name=name)
        raw_key = api_key.generate_key()
        api_key.save()
        return api_key, raw_key

    def generate_key(self) -> str:
        """Give this (unsaved) key a new random secret; returns it, keeping only its hash."""
        raw_key = "vb_" + secrets.token_urlsafe(32)
        self.prefix = raw_key[3 : 3 + self.PREFIX_LENGTH]
        self.key_hash = hash_api_key(raw_key)
        return raw_key

    @classmethod
    def authenticate(cls, raw_key: str) -> "ApiKey | None":
        return (
            cls.objects.active()
            .select_related("agency")
            .filter(key_hash=hash_api_key(raw_key))
            .first()
        )

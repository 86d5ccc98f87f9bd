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


class Provider(models.TextChoices):
    MSPECS = "mspecs", "MSPECS"
    VITEC = "vitec", "Vitec Express"


def validate_phone_region(value: str) -> None:
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            _("%(value)s is not a known phone region; use a two-letter country code such as SE."),
            params={"value": value},
            code="unknown_region",
        )


def validate_https_url(value: str) -> None:
    """A page buyers are sent to (the privacy policy): https only."""
    if urlsplit(value).scheme != "https":
        raise ValidationError(_("Use an https:// address."), code="scheme")


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
    name = models.CharField(max_length=200, verbose_name=_("name"))
    slug = models.SlugField(unique=True, verbose_name=_("slug"))
    provider = models.CharField(
        max_length=10, choices=Provider.choices, verbose_name=_("broker system")
    )
    phone_region = models.CharField(
        max_length=2,
        default="SE",
        validators=[validate_phone_region],
        help_text=_("Country whose numbering plan applies to phone numbers without a +prefix."),
        verbose_name=_("phone region"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    # What buyers see: the consent sentence names the agency (as controller) and links to
    # its privacy policy.
    consent_name = models.CharField(
        _("name in the consent sentence"),
        max_length=200,
        blank=True,
        db_default="",
        help_text=_("The legal name buyers consent to; the agency's name when empty."),
    )
    privacy_policy_url = models.URLField(
        _("privacy policy URL"),
        max_length=500,
        blank=True,
        db_default="",
        validators=[validate_https_url],
        help_text=_("Linked from the booking page, beside the consent sentence."),
    )
    buyer_emails_enabled = models.BooleanField(
        _("email buyers when a booking cannot go ahead"),
        default=True,
        db_default=True,
        help_text=_(
            "An email to the buyer when their booking is rejected, fails or is cancelled by "
            "staff, and another if it reaches the broker system after all."
        ),
    )
    buyer_receipts_enabled = models.BooleanField(
        _("email buyers a receipt when they book"),
        default=True,
        db_default=True,
        help_text=_(
            "One email when a booking is received, with the buyer's private link, the calendar "
            "file and how to cancel. It is not the broker system's confirmation and says so."
        ),
    )
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
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = AgencyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")

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

    @property
    def name_for_buyers(self) -> str:
        """The name the consent sentence and buyer emails use."""
        return self.consent_name or self.name


class MspecsApi(models.TextChoices):
    """Which of MSPECS's two public APIs a credential speaks (docs/mspecs.md, "Two APIs")."""

    PROVIDER = "provider", _("Provider API (integration.mspecs.se; needs a provider agreement)")
    EXTERNAL_VIEWING = (
        "external_viewing",
        _("External viewing API and MSPX API (login.mspecs.se; the agency's own API user)"),
    )


# The production and test hosts of each MSPECS API (docs/mspecs.md, "Two APIs"): the
# provider API's integration endpoints, and the client endpoints that serve the External
# viewing API and the MSPX API.
MSPECS_API_HOSTS = {
    MspecsApi.PROVIDER: frozenset({"integration.mspecs.se", "test-integration.mspecs.se"}),
    MspecsApi.EXTERNAL_VIEWING: frozenset({"login.mspecs.se", "stage.mspecs.se", "demo.mspecs.se"}),
}

# The API hosts each provider really uses; an operator adds others (a proxy, the
# sandbox) in settings.BROKER_ALLOWED_HOSTS.
VENDOR_HOSTS = {
    Provider.MSPECS: frozenset().union(*MSPECS_API_HOSTS.values()),
    Provider.VITEC: frozenset({"connect.maklare.vitec.net"}),
}


def vendor_hosts(provider: str | None = None, mspecs_api: str = "") -> frozenset[str]:
    """The hosts a base URL may name: those of the MSPECS API `mspecs_api` when given for
    MSPECS, else those of the provider, else those of every provider."""
    if provider is None:
        return frozenset().union(*VENDOR_HOSTS.values())
    if provider == Provider.MSPECS and mspecs_api in MSPECS_API_HOSTS:
        return MSPECS_API_HOSTS[mspecs_api]
    return VENDOR_HOSTS[provider]


def operator_allowed_hosts() -> dict[str, bool]:
    """settings.BROKER_ALLOWED_HOSTS as {host: plain http allowed too}. An entry is a host
    name or `https://host` (https only), or `http://host` (plain http too, any port)."""
    allowed = {}
    for entry in settings.BROKER_ALLOWED_HOSTS:
        scheme, _, host = entry.strip().lower().rpartition("://")
        if host:
            allowed[host.strip("[]")] = scheme == "http"  # "[::1]" is "::1" in a URL's hostname
    return allowed


def validate_provider_url(url: str, provider: str | None = None, mspecs_api: str = "") -> None:
    """The rules for a provider's base URL (and every URL called under it): https
    (or plain http where the operator allowed it), no user info, query or fragment, and a
    host the provider (for MSPECS: the API the credential speaks) uses or the operator
    added."""
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
    hosts = vendor_hosts(provider, mspecs_api)
    if host not in hosts and host not in operator_hosts:
        if provider and host in vendor_hosts(provider):
            # A host of the provider's other API: the API chosen is the mistake.
            message = _(
                "%(host)s is an address of the other MSPECS API; choose that API, or use %(hosts)s."
            )
        else:
            message = _(
                "%(host)s is not an address of this broker system; use %(hosts)s, or ask "
                "the operator to add the host to BROKER_ALLOWED_HOSTS."
            )
        errors.append(
            ValidationError(
                message,
                code="host",
                params={"host": host or "?", "hosts": ", ".join(sorted(hosts))},
            )
        )
    if errors:
        raise ValidationError(errors)


class CredentialStatus(models.TextChoices):
    UNTESTED = "untested", _("Not tested yet")
    OK = "ok", _("Working")
    FAILING = "failing", _("Failing: bookings are held")


# Where the secret is sent and which login it opens (Vitec's customer id and MSPECS's
# subscriber id scope the login; the scheme says what the secret is; MSPECS's two APIs
# take different logins). Changing any of them needs the secret entered again: see
# ProviderCredential.clean.
SECRET_SCOPE_FIELDS = [
    "base_url",
    "username",
    "auth_scheme",
    "vitec_customer_id",
    "mspecs_subscriber_id",
    "mspecs_api",
]


class AuthScheme(models.TextChoices):
    """How the secret is sent (docs/mspecs.md: MSPECS accepts both; Vitec only Basic)."""

    BASIC = "basic", _("HTTP Basic (user name and password)")
    BEARER = "bearer", _("Bearer access token (MSPECS)")


class ProviderCredential(models.Model):
    """How Viewing Bridge signs in to an agency's provider, and the booking defaults.

    The secret is never shown back; the instance tracks whether it was entered (assigned)
    since it was loaded, and the stored values it is compared against."""

    agency = models.OneToOneField(
        Agency, on_delete=models.CASCADE, related_name="credential", verbose_name=_("agency")
    )
    base_url = models.URLField(
        help_text=_("API root, e.g. https://connect.maklare.vitec.net"), verbose_name=_("base URL")
    )
    auth_scheme = models.CharField(
        _("authentication"), max_length=10, choices=AuthScheme.choices, default=AuthScheme.BASIC
    )
    username = models.CharField(
        _("user name"),
        max_length=200,
        blank=True,
        help_text=_("Not used with a Bearer access token."),
    )
    secret = EncryptedTextField(
        _("secret"), help_text=_("Password, API secret or access token; stored encrypted.")
    )
    secret_changed_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("secret changed at")
    )

    # Vitec Express only (ignored for MSPECS).
    vitec_customer_id = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_provider_id],
        verbose_name=_("Vitec customer id"),
    )
    vitec_lead_source_id = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_provider_id],
        verbose_name=_("Vitec lead source id"),
    )
    vitec_mail_confirmation = models.BooleanField(
        default=True, verbose_name=_("Vitec email confirmation")
    )
    vitec_sms_confirmation = models.BooleanField(
        default=False, verbose_name=_("Vitec SMS confirmation")
    )
    vitec_sms_reminder = models.BooleanField(default=False, verbose_name=_("Vitec SMS reminder"))
    vitec_reminder_minutes = models.PositiveIntegerField(
        default=120, verbose_name=_("Vitec reminder (minutes before)")
    )
    vitec_deadline_validation = models.BooleanField(
        default=True, verbose_name=_("Vitec deadline validation")
    )
    vitec_booking_limit_validation = models.BooleanField(
        default=True, verbose_name=_("Vitec booking limit validation")
    )

    # MSPECS only (ignored for Vitec): the API the credential speaks (the provider API, as
    # every credential did before the choice existed), and the agency as MSPECS's
    # subscriber, sent as the `subscriber-id` header on every call; MSPECS's webhook events
    # name it too, which is how they find their agency (the webhook secret is the provider
    # account's, in the environment: docs/mspecs.md, "Webhooks").
    mspecs_api = models.CharField(
        _("MSPECS API"),
        max_length=20,
        choices=MspecsApi.choices,
        default=MspecsApi.PROVIDER,
        help_text=_(
            "Provider API: for a provider with an agreement with MSPECS (a provider account "
            "and the agency's subscriber id); reads the agency's published deals. External "
            "viewing API: the agency's own MSPECS API user; reads viewings and slots "
            "through the MSPX API. The base URL must be a host of the API chosen."
        ),
    )
    mspecs_subscriber_id = models.CharField(
        _("MSPECS subscriber id"), max_length=100, blank=True, validators=[validate_provider_id]
    )

    status = models.CharField(
        max_length=10,
        choices=CredentialStatus.choices,
        default=CredentialStatus.UNTESTED,
        verbose_name=_("status"),
    )
    status_problem = ProblemField(_("status detail"))
    status_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("status changed at")
    )
    # Test connection's last run, whatever it proved (an inconclusive test changes no status).
    tested_at = models.DateTimeField(
        _("connection tested at"), null=True, blank=True, editable=False
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    # The circuit breaker (the delivery engine keeps it, bookings/delivery/circuit.py): after
    # CIRCUIT_BREAKER_THRESHOLD failures in a row (5xx, 429, timeouts) the circuit opens, the
    # agency's deliveries are held, and one booking at a time probes the provider.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    circuit_opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    circuit_problem = ProblemField(_("why the circuit opened"))
    circuit_probes = models.PositiveIntegerField(default=0, editable=False)
    circuit_next_probe_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AgencyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("broker-system credential")
        verbose_name_plural = _("broker-system credentials")

    def __str__(self):
        return f"{self.agency} ({self.agency.get_provider_display()})"

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
        provider = self.agency.provider if self.agency_id else None
        if self.base_url:
            try:
                validate_provider_url(self.base_url, provider, self.mspecs_api)
            except ValidationError as error:
                errors["base_url"] = error
        # What each provider needs of a credential (a customer id, which schemes) is
        # its plug-in's to say: bookings/delivery/credentials.py, provider_errors.
        if self.auth_scheme == AuthScheme.BASIC and not self.username:
            errors["username"] = _("HTTP Basic needs a user name.")
        if self.secret_scope_changed():
            errors["secret"] = _(
                "Enter the secret again: it is never sent to a changed base URL, user name "
                "or customer id without being entered for them."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def circuit_is_open(self) -> bool:
        """Whether deliveries are held because the provider keeps failing (not because
        it refused the login: that is `status` failing)."""
        return self.circuit_opened_at is not None

    def close_circuit(self) -> bool:
        """The provider answers again: failures no longer in a row, the circuit closed.
        Returns whether it was open (the caller then sends the held bookings again)."""
        credentials = ProviderCredential.objects.filter(pk=self.pk)
        closed = credentials.filter(circuit_opened_at__isnull=False).update(
            consecutive_failures=0,
            circuit_opened_at=None,
            circuit_problem=None,
            circuit_probes=0,
            circuit_next_probe_at=None,
        )
        if not closed:
            credentials.filter(consecutive_failures__gt=0).update(consecutive_failures=0)
        self.consecutive_failures, self.circuit_opened_at = 0, None
        self.circuit_problem, self.circuit_probes, self.circuit_next_probe_at = None, 0, None
        return bool(closed)

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
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("agency")
    )
    role = models.CharField(
        max_length=10, choices=Role.choices, default=Role.STAFF, verbose_name=_("role")
    )
    # What the member edits themselves (agencies.admin.MyAlertsView): alerts go to the
    # agency's administrators (agencies/alerts.py).
    email_alerts = models.BooleanField(
        _("email alerts"),
        default=True,
        help_text=_(
            "Administrators get an email digest when the agency's broker-system credential "
            "starts failing, bookings end failed or need review, or slot polling keeps failing."
        ),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("The language of the emails you get about this agency."),
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
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

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("agency")
    )
    name = models.CharField(
        max_length=100, help_text=_("Who uses it, e.g. 'Agency website'."), verbose_name=_("name")
    )
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False, verbose_name=_("prefix"))
    key_hash = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("key hash")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last used at")
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

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


class AlertKind(models.TextChoices):
    CREDENTIAL_FAILING = "credential_failing", _("broker-system credential failing")
    BOOKINGS_STOPPED = "bookings_stopped", _("bookings failed or needing review")
    SLOT_POLLING_FAILING = "slot_polling_failing", _("slot polling failing")
    CANCELLATION_REQUESTED = "cancellation_requested", _("buyers asking to cancel")


class Alert(models.Model):
    """Something an agency's administrators are told about by email, in a digest per
    agency and kind (agencies/alerts.py)."""

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("agency")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=AlertKind.choices)
    subject = models.CharField(_("about"), max_length=300)
    admin_path = models.CharField(_("admin page"), max_length=500, blank=True)
    problem = ProblemField(_("problem"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [models.Index(fields=["agency", "kind", "sent_at"], name="alert_digest_idx")]

    def __str__(self):
        return f"{self.agency}: {self.get_kind_display()}: {self.subject}"

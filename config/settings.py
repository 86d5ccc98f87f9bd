"""Settings for Viewing Bridge.

Every value comes from the environment (or a `.env` file beside manage.py) through
django-environ. Defaults are safe for production: DEBUG is off and the app refuses to
start without SECRET_KEY and FIELD_ENCRYPTION_KEYS. DJANGO_DEV_MODE=1 (set by `make run`
and the tests) turns on DEBUG and the public development keys for local use.
Production must set at least SECRET_KEY, FIELD_ENCRYPTION_KEYS, ALLOWED_HOSTS and
DATABASE_URL; see README.md and .env.example.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Development mode is turned on on purpose, never by default: `make run` and the test
# configuration (pyproject.toml) set DJANGO_DEV_MODE=1. It allows DEBUG by default and the
# public development keys below; without it the app needs real keys to start.
DEV_MODE = env.bool("DJANGO_DEV_MODE", default=False)
DEBUG = env.bool("DEBUG", default=DEV_MODE)

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
# A valid Fernet key used only for local development and tests.
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXkhISE="
# The example values in .env.example, which a copied file would otherwise put in production.
PLACEHOLDER_SECRET_KEY = "change-me-to-a-long-random-string"
PLACEHOLDER_FIELD_ENCRYPTION_KEY = "replace-with-a-fernet-key"


def required_keys(name: str, values: list[str], dev_value: str, placeholder: str) -> list[str]:
    """The keys set for `name`, refusing to start without real ones."""
    if not values and DEV_MODE:
        return [dev_value]
    if not values:
        problem = "it is not set (only DJANGO_DEV_MODE=1 runs with a development key)"
    elif placeholder in values:
        problem = "it still has the placeholder value from .env.example"
    elif dev_value in values and not DEV_MODE:
        problem = "the public development key is refused outside DJANGO_DEV_MODE=1"
    else:
        return values
    raise ImproperlyConfigured(f"Set {name} to a real key before starting the app: {problem}.")


SECRET_KEY = required_keys(
    "SECRET_KEY",
    [key for key in [env.str("SECRET_KEY", default="")] if key],
    DEV_SECRET_KEY,
    PLACEHOLDER_SECRET_KEY,
)[0]
# Fernet keys for provider secrets, newest first. Add a new key in front to rotate,
# run `manage.py rotate_secrets`, then drop the old key. agencies/checks.py checks each one.
FIELD_ENCRYPTION_KEYS = required_keys(
    "FIELD_ENCRYPTION_KEYS",
    env.list("FIELD_ENCRYPTION_KEYS", default=[]),
    DEV_FIELD_ENCRYPTION_KEY,
    PLACEHOLDER_FIELD_ENCRYPTION_KEY,
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.ViewingBridgeAdminConfig",  # django.contrib.admin, with config/admin.py's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # the unaccent lookup of the booking search (bookings/search.py)
    "django_tasks_db",
    "crontask",
    "axes",
    "agencies",
    "bookings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.refuse_nul_in_query",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Keep connections open between requests and tasks: a worker that reconnected for every
# task spent more time connecting (and, on SQLite, checkpointing the WAL) than working.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids
    # lock-upgrade deadlocks between them.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT failed sign-ins for one user
# name, or from one address, both are refused (even with the right password) for
# LOGIN_COOLOFF_MINUTES, counted again from each further try. A superuser unlocks one
# sooner by deleting its access attempt in the admin (Axes, Access attempts).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/login_locked_out.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Stockholm")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")

# Mail to buyers and staff through Django's email framework. `make run` points EMAIL_URL at
# the local mail catcher (maildump, http://127.0.0.1:1080); the tests use the in-memory backend.
# Without EMAIL_URL, mail is written to the console so nothing leaves a development machine.
# (django-environ's documented way: EMAIL_URL sets EMAIL_BACKEND, EMAIL_HOST, ...)
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Viewing Bridge <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Background work: Django's Tasks API on the database backend, so a worker
# (`manage.py delivery_worker`, or django-tasks-db's `db_worker`) needs nothing but the database.
# TASKS_BACKEND=django_tasks_rq.RQBackend puts the tasks in Redis instead (the `rq` extra,
# REDIS_URL), worked by django-rq's `manage.py rqworker --job-class django_tasks_rq.Job`.
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
if TASKS["default"]["BACKEND"].startswith("django_tasks_rq."):
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")}}

# Production hardening; each is overridable for a TLS-terminating proxy setup.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Content-Security-Policy on every response: our own scripts, styles and images only, no
# inline script or style anywhere (the templates load theirs from static files).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Delivery to the broker systems.
# Seconds to wait before attempt 2, 3, ...; after the last one a booking is failed.
DELIVERY_RETRY_SCHEDULE = env.list(
    "DELIVERY_RETRY_SCHEDULE", cast=float, default=[30, 120, 600, 3600, 14400]
)
# How often the dispatcher (run by `manage.py crontask`) wakes due bookings, retries
# included (so one goes at most this late); and how long a due booking must sit untouched,
# e.g. since it was woken, before the dispatcher wakes it (again).
DELIVERY_SWEEP_SECONDS = env.float("DELIVERY_SWEEP_SECONDS", default=10)
DELIVERY_SWEEP_GRACE = env.float("DELIVERY_SWEEP_GRACE", default=10)
# Broker-system API hosts allowed besides the ones MSPECS and Vitec really use: a host name
# (https only) or `http://host` (plain http too, any port; `make run` adds the sandbox
# as http://127.0.0.1). Allowed hosts may resolve to private or loopback addresses.
BROKER_ALLOWED_HOSTS = env.list("BROKER_ALLOWED_HOSTS", default=[])
for _entry in BROKER_ALLOWED_HOSTS:
    if not re.fullmatch(r"(https?://)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])", _entry, re.I):
        raise ImproperlyConfigured(
            f"BROKER_ALLOWED_HOSTS: {_entry!r} is neither a host name nor http://host "
            "(no port, path or other scheme)."
        )
BROKER_CONNECT_TIMEOUT = env.float("BROKER_CONNECT_TIMEOUT", default=5.0)
BROKER_READ_TIMEOUT = env.float("BROKER_READ_TIMEOUT", default=20.0)
# Delivery calls in flight at once in one worker process, and the worker loops that
# `manage.py delivery_worker` runs as threads (more than the calls, so that database work
# overlaps other bookings' calls). Total concurrency = processes x DELIVERY_CONCURRENCY.
DELIVERY_CONCURRENCY = env.int("DELIVERY_CONCURRENCY", default=4)
DELIVERY_WORKER_THREADS = env.int("DELIVERY_WORKER_THREADS", default=8)

# Slot availability from MSPECS (bookings/polling.py). The worker's scheduler checks every
# SLOT_POLL_TICK seconds for deals whose last poll is older than SLOT_POLL_INTERVAL, or
# SLOT_POLL_INTERVAL_SOON once the viewing starts within SLOT_POLL_SOON_HOURS.
SLOT_POLL_INTERVAL = env.int("SLOT_POLL_INTERVAL", default=300)
SLOT_POLL_INTERVAL_SOON = env.int("SLOT_POLL_INTERVAL_SOON", default=60)
SLOT_POLL_SOON_HOURS = env.int("SLOT_POLL_SOON_HOURS", default=24)
SLOT_POLL_TICK = env.int("SLOT_POLL_TICK", default=60)
# Slot-status calls in flight at once, overall and for one agency.
SLOT_POLL_CONCURRENCY = env.int("SLOT_POLL_CONCURRENCY", default=10)
SLOT_POLL_CONCURRENCY_PER_AGENCY = env.int("SLOT_POLL_CONCURRENCY_PER_AGENCY", default=4)

# The built-in sandbox broker-system servers (`manage.py sandbox`) that the demo agencies use.
SANDBOX_HOST = env.str("SANDBOX_HOST", default="127.0.0.1")
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8001)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The scheduler logs every tick of every job, and django-axes its version at every
    # start; only their problems are news (axes logs sign-in failures and lock-outs itself).
    "loggers": {"apscheduler": {"level": "WARNING"}, "axes.apps": {"level": "WARNING"}},
}

# Intake: public booking pages and the JSON API. Limits are per minute; 0 turns one off.
BOOKING_RATE_LIMIT_PER_IP = env.int("BOOKING_RATE_LIMIT_PER_IP", default=10)
BOOKING_RATE_LIMIT_PER_VIEWING = env.int("BOOKING_RATE_LIMIT_PER_VIEWING", default=120)
API_RATE_LIMIT_PER_KEY = env.int("API_RATE_LIMIT_PER_KEY", default=600)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=16384)

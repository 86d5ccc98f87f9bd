"""Settings for Viewing Bridge.

Every value comes from the environment (or a `.env` file beside manage.py) through
django-environ. Defaults are safe for production: DEBUG is off and the app refuses to
start without SECRET_KEY and FIELD_ENCRYPTION_KEYS. DJANGO_DEV_MODE=1 (set by `make run`
and the tests) turns on DEBUG and the public development keys for local use.
Production must set at least SECRET_KEY, FIELD_ENCRYPTION_KEYS, ALLOWED_HOSTS and
DATABASE_URL; see docs/settings.md and .env.example.
"""

import ipaddress
import logging
import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# ENV_FILE names another file: `make serve` keeps its throwaway local keys in var/serve.env.
# Values already in the environment win over the file's.
environ.Env.read_env(env.path("ENV_FILE", default=BASE_DIR / ".env"))

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
    "config.apps.TasksDatabaseConfig",  # django_tasks_db, named in Swedish too
    "axes",
    "agencies",
    "bookings",
    # After bookings, whose `crontask` command (the same scheduler, its messages logged)
    # takes the name: of two apps with one command, the first listed wins.
    "crontask",
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

if not DEV_MODE:
    # Static files with DEBUG off (collected by `collectstatic`), right after
    # SecurityMiddleware as WhiteNoise asks; in development runserver serves them.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

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
    # The threads of one process take turns to write (config/sqlite_one_writer/base.py).
    DATABASES["default"]["ENGINE"] = "config.sqlite_one_writer"
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
# name from one address, that name is refused from that address (even with the right
# password), and after as many from one address for any names, that address is refused,
# for LOGIN_COOLOFF_MINUTES, counted again from each further try. Never the user name
# alone: anyone could keep anyone else locked out. A superuser unlocks sooner in the admin
# (Axes, Access attempts) or with `manage.py axes_reset_username`/`axes_reset_ip`.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# The client's address behind the proxies (bookings/client_address.py). A callable rather
# than axes' AXES_IPWARE_* settings: those need django-ipware, and one function serves the
# lock-out, the rate limits, /metrics and the logs alike.
AXES_CLIENT_IP_CALLABLE = "bookings.client_address.client_address"
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
# `collectstatic` (a release step) writes compressed copies under hashed names; WhiteNoise
# serves them with a year's cache lifetime. Development mode keeps plain names, so neither
# runserver nor the tests need collectstatic first.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEV_MODE
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Mail to buyers and staff through Django's email framework (MAILERS, Django 6.1). `make run`
# points EMAIL_URL at the local mail catcher (maildump, http://127.0.0.1:1080); the tests use
# the in-memory backend. Without EMAIL_URL, development mode writes mail to the console (so
# nothing leaves a development machine) and production sends it to the SMTP server on
# localhost, Django's own default. The URL is django-environ's email URL, read into the
# backend's options (only those it sets: each backend takes its own).
EMAIL_OPTION_NAMES = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_TIMEOUT": "timeout",
    "EMAIL_FILE_PATH": "file_path",
}
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEV_MODE else "smtp://localhost:25")
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {
            option: _email[name]
            for name, option in EMAIL_OPTION_NAMES.items()
            if _email.get(name) not in (None, "", False)
        },
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Viewing Bridge <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# This site's public address, for the links in emails (buyers' status links, staff alerts):
# they are sent from the worker, which has no request to take the address from.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Alerts to agency administrators: at most one email per agency and kind this often
# (a digest of what happened meanwhile; agencies/alerts.py).
ALERT_DIGEST_MINUTES = env.float("ALERT_DIGEST_MINUTES", default=60)

# Background work: Django's Tasks API on the database backend, so a worker
# (`manage.py delivery_worker`, or django-tasks-db's `db_worker`) needs nothing but the database.
# TASKS_BACKEND=django_tasks_rq.RQBackend puts the tasks in Redis instead (the `rq` extra,
# REDIS_URL), worked by django-rq's `manage.py rqworker-pool` with `--worker-class
# bookings.delivery.rq_worker.Worker --job-class bookings.delivery.rq_worker.Job`
# (docs/settings.md, TASKS_BACKEND).
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
if TASKS["default"]["BACKEND"].startswith("django_tasks_rq."):
    import redis

    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    # One connection pool per process: given a URL, django-rq builds a new client, and so a
    # new connection to Redis, for every enqueue (bench/delivery.py --backend rq, enqueue_s).
    # Given a pool, every queue of the process takes its connections from it.
    _rq_pool = redis.ConnectionPool.from_url(
        env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
    )
    RQ_QUEUES = {
        "default": {"HOST": "", "PORT": 0, "REDIS_CLIENT_KWARGS": {"connection_pool": _rq_pool}}
    }

# Production hardening; each is overridable for a TLS-terminating proxy setup.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Load balancers and container probes ask over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
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
# How many proxies stand in front of the web process, each appending the address it was
# reached from to X-Forwarded-For: the client's address is the one this far from the right
# (bookings/client_address.py). 0: nothing in front, the header is ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 or more, not {TRUSTED_PROXY_COUNT}.")

# Delivery to the providers.
# Seconds to wait before attempt 2, 3, ...; after the last one a booking is failed. The
# default spans about 92 hours (at least 74 with the -20% jitter): a provider down for
# a weekend loses nothing. A booking stops earlier once its slot or viewing has started
# (`too_late`, Booking.delivery_deadline).
DELIVERY_RETRY_SCHEDULE = env.list(
    "DELIVERY_RETRY_SCHEDULE",
    cast=float,
    default=[10, 60, 300, 1800, 7200, 21600, 43200, 86400, 86400, 86400],
)
# A post whose answer was lost (read timeout, dropped connection) is repeated, where the
# provider allows it (MSPECS, at most twice), no sooner than this many seconds and
# never while a claim on the booking may still be running.
DELIVERY_LOST_ANSWER_WAIT = env.float("DELIVERY_LOST_ANSWER_WAIT", default=300)
# The circuit breaker per credential: after this many failures in a row (5xx, 429,
# timeouts, no connection) the agency's deliveries are held and one booking probes the
# provider, first after CIRCUIT_BREAKER_PROBE_SECONDS, then twice as long each time up
# to CIRCUIT_BREAKER_PROBE_MAX_SECONDS (never sooner than a 429's Retry-After).
CIRCUIT_BREAKER_THRESHOLD = env.int("CIRCUIT_BREAKER_THRESHOLD", default=5)
CIRCUIT_BREAKER_PROBE_SECONDS = env.float("CIRCUIT_BREAKER_PROBE_SECONDS", default=30)
CIRCUIT_BREAKER_PROBE_MAX_SECONDS = env.float("CIRCUIT_BREAKER_PROBE_MAX_SECONDS", default=1800)
# How often the dispatcher (run by `manage.py crontask`) wakes due bookings, retries
# included (so one goes at most this late); and how long a due booking must sit untouched,
# e.g. since it was woken, before the dispatcher wakes it (again).
DELIVERY_SWEEP_SECONDS = env.float("DELIVERY_SWEEP_SECONDS", default=10)
DELIVERY_SWEEP_GRACE = env.float("DELIVERY_SWEEP_GRACE", default=10)
# Providers' API hosts allowed besides the ones MSPECS and Vitec really use: a host name
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

# Imported viewings (bookings/viewing_import/): every VIEWING_SYNC_INTERVAL seconds the
# scheduler re-reads each deal and estate behind an upcoming imported viewing, one request
# each, so many at once overall and per agency; only of the providers that allow
# scheduled reads (Vitec; MSPECS's deals are read on webhooks and the nightly catch-up).
VIEWING_SYNC_INTERVAL = env.int("VIEWING_SYNC_INTERVAL", default=900)
VIEWING_SYNC_CONCURRENCY = env.int("VIEWING_SYNC_CONCURRENCY", default=10)
VIEWING_SYNC_CONCURRENCY_PER_AGENCY = env.int("VIEWING_SYNC_CONCURRENCY_PER_AGENCY", default=4)
# For a provider that lists what changed (Vitec), the scheduled sync reads only the
# estates changed since its last pass, and every one of them again after this many seconds.
VIEWING_SYNC_ALL_EVERY = env.int("VIEWING_SYNC_ALL_EVERY", default=86400)
# MSPECS webhooks (bookings/viewing_import/webhooks.py): the secret MSPECS signs them with,
# one per provider account (PUT /api/provider/webhookSecret makes a new one and replaces the
# old; docs/mspecs.md, "Webhooks"). Empty: every webhook is refused. Signed longer ago (or
# further ahead) than WEBHOOK_MAX_AGE_SECONDS: refused as a replay.
MSPECS_WEBHOOK_SECRET = env.str("MSPECS_WEBHOOK_SECRET", default="")
WEBHOOK_MAX_AGE_SECONDS = env.int("WEBHOOK_MAX_AGE_SECONDS", default=300)
# When the nightly catch-up reads each webhook-pushing agency's list of deals (cron syntax,
# TIME_ZONE): the events its webhook missed (bookings/viewing_import/nightly.py).
SOURCE_CATCH_UP_SCHEDULE = env.str("SOURCE_CATCH_UP_SCHEDULE", default="15 2 * * *")

# The built-in sandbox provider servers (`manage.py sandbox`) that the demo agencies use.
SANDBOX_HOST = env.str("SANDBOX_HOST", default="127.0.0.1")
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8001)

# One line per event on standard error, once: only the root logger has a handler. Django's
# own default gives the "django" logger a console handler of its own in DEBUG, so every
# django.tasks line (each task's start and end) was printed twice, once by it and once by
# the root; here it has none and propagates. LOG_FORMAT=json writes one JSON object a line
# with the event's ids as fields (config/logs.py). gunicorn reads this too
# (config/gunicorn.py), so its own lines share the format.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "config.logs.PlainFormatter"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    # Buyers' emails and phones, query strings' and SQL's values masked (config/logs.py).
    "filters": {"mask_personal_data": {"()": "config.logs.MaskPersonalData"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["mask_personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # The scheduler logs every tick of every job, and django-axes its version at every
    # start; only their problems are news (axes logs sign-in failures and lock-outs itself).
    "loggers": {
        "apscheduler": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},
        # Django's own console handler (DEBUG) would print each event a second time on
        # the way to the root's: configured here, it keeps none and only propagates. Its
        # level is LOG_LEVEL (Django's INFO would write each task's start and end at
        # WARNING too), but never DEBUG, which is every SQL statement.
        "django": {
            "handlers": [],
            "level": max(logging.getLevelNamesMapping()[LOG_LEVEL], logging.INFO),
            "propagate": True,
        },
        # gunicorn's own lines (start, workers booted) through the root's handler. No access
        # log: a URL can hold a buyer's signed link; the proxy in front keeps one if wanted.
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}

# One scheduler: with REDIS_URL set, `manage.py crontask` holds a lock in that Redis
# (django-crontask's own), so a second one started by mistake waits LOCK_BLOCKING_TIMEOUT
# seconds and exits instead of enqueueing everything twice; a supervisor restarting it
# makes it a standby that takes over once the first one's lock lapses (LOCK_TIMEOUT).
CRONTASK = {
    "REDIS_URL": env.str("REDIS_URL", default="") or None,
    "LOCK_TIMEOUT": env.float("CRONTASK_LOCK_TIMEOUT", default=10),
    "LOCK_REFRESH_INTERVAL": env.float("CRONTASK_LOCK_REFRESH_INTERVAL", default=5),
    "LOCK_BLOCKING_TIMEOUT": env.float("CRONTASK_LOCK_BLOCKING_TIMEOUT", default=15),
}

# Health (/healthz, `manage.py check_health`): the worker and the scheduler record that they
# are alive every HEARTBEAT_SECONDS; each is unhealthy when not seen for HEALTH_STALE_AFTER
# seconds, and deliveries when a booking has been due for longer than HEALTH_MAX_DUE_AGE
# (nothing is picking bookings up).
HEARTBEAT_SECONDS = env.float("HEARTBEAT_SECONDS", default=10)
HEALTH_STALE_AFTER = env.float("HEALTH_STALE_AFTER", default=60)
HEALTH_MAX_DUE_AGE = env.float("HEALTH_MAX_DUE_AGE", default=600)

# /metrics (Prometheus): answered only to a scraper sending `Authorization: Bearer
# <METRICS_TOKEN>`, or from an address in METRICS_ALLOWED_ADDRESSES (addresses or networks,
# e.g. 10.0.0.0/8, matched against the client's address, TRUSTED_PROXY_COUNT); with neither
# set it is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_ADDRESSES = env.list("METRICS_ALLOWED_ADDRESSES", default=[])
for _entry in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_ADDRESSES: {_entry!r} is neither an address nor a network."
        ) from None

# Intake: public booking pages and the JSON API. Limits are per minute; 0 turns one off.
BOOKING_RATE_LIMIT_PER_IP = env.int("BOOKING_RATE_LIMIT_PER_IP", default=10)
BOOKING_RATE_LIMIT_PER_VIEWING = env.int("BOOKING_RATE_LIMIT_PER_VIEWING", default=120)
API_RATE_LIMIT_PER_KEY = env.int("API_RATE_LIMIT_PER_KEY", default=600)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=16384)
# The buyer's status link (bookings/buyer/) answers 410 this many days after the booked
# time ended: nothing is left to do there, and the page shows who booked what.
BUYER_LINK_DAYS_AFTER_VIEWING = env.int("BUYER_LINK_DAYS_AFTER_VIEWING", default=30)

# Retention of personal data (bookings/privacy/retention.py), applied every night by
# `manage.py crontask` at RETENTION_SCHEDULE (cron syntax, TIME_ZONE) and by
# `manage.py apply_retention`. Days, counted from when the viewing ended (bookings), the
# call was made (delivery attempts), the task finished, the API request was first answered,
# the webhook event was first received.
# BOOKING_RETENTION_DAYS is also the most an agency may set: agencies may only shorten it.
BOOKING_RETENTION_DAYS = env.int("BOOKING_RETENTION_DAYS", default=90)
DELIVERY_ATTEMPT_RETENTION_DAYS = env.int("DELIVERY_ATTEMPT_RETENTION_DAYS", default=90)
TASK_RESULT_RETENTION_DAYS = env.int("TASK_RESULT_RETENTION_DAYS", default=14)
IDEMPOTENCY_RETENTION_DAYS = env.int("IDEMPOTENCY_RETENTION_DAYS", default=30)
WEBHOOK_EVENT_RETENTION_DAYS = env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=30)
RETENTION_SCHEDULE = env.str("RETENTION_SCHEDULE", default="30 3 * * *")
# Rows per batch (one short transaction each).
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=500)

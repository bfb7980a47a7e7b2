"""Duly settings, read from the environment.

``DULY_ENV`` is ``development`` (the default), ``test`` or ``production``. Production refuses to
start while a secret it needs is missing; development and tests fall back to safe local defaults
but every environment names its PostgreSQL and Redis (``DATABASE_URL``, ``REDIS_URL``); ``config.embedded``
starts local ones for development and tests.
"""

from __future__ import annotations

import importlib.util
import os
import ssl
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config import errors

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = os.environ.get("DULY_ENV", "development")
if ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DULY_ENV must be development, test or production, not {ENV!r}")
PRODUCTION = ENV == "production"

REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "DULY_SECRETS_KEYS")
if PRODUCTION:
    missing = [name for name in REQUIRED_IN_PRODUCTION if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured(f"Production settings need these environment variables: {', '.join(missing)}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-never-used-in-production")
DEBUG = env_bool("DEBUG", ENV == "development")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where each payment provider is reached (empty: the provider's own host) and how long a call may take.
GATEWAY_BASE_URLS: dict[str, str] = {
    name: os.environ[f"DULY_{name.upper()}_BASE_URL"]
    for name in ("stripe", "cashflows", "credicorp")
    if os.environ.get(f"DULY_{name.upper()}_BASE_URL")
}
# Duly's own address as a browser or the sandbox adapter reaches it (the offline Sandbox provider's server).
DULY_SITE_URL = os.environ.get("DULY_SITE_URL", "http://127.0.0.1:8000")
GATEWAY_TIMEOUT_SECONDS = float(os.environ.get("DULY_GATEWAY_TIMEOUT_SECONDS", "10"))
# A gateway payment pending or processing this long is re-polled by the janitor.
PAYMENTS_STALE_AFTER = timedelta(minutes=int(os.environ.get("DULY_PAYMENTS_STALE_AFTER_MINUTES", "15")))

# The metrics page's token (config.metrics): Prometheus sends "Authorization: Bearer <token>". Unset, the
# page is open in development and tests, and absent in production.
DULY_METRICS_TOKEN = os.environ.get("DULY_METRICS_TOKEN", "")
PROMETHEUS_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))

# Fernet keys that encrypt tenants' gateway secrets, newest first; older keys still decrypt (rotation).
DULY_SECRETS_KEYS = env_list("DULY_SECRETS_KEYS", "ZGV2LW9ubHktc2VjcmV0cy1rZXktMzItYnl0ZXMhISE=")

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",  # failed sign-ins limited per account and per address, counted in the database
    "django_otp",  # a second factor: an authenticator app's codes (TOTP), and recovery codes
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "ninja",  # serves the API docs' Swagger UI from its own static files, not a CDN
    "health_check",  # liveness and readiness (config.health): its page's template
    "djmoney",
    "simple_history",
    "phonenumber_field",
    "django_countries",  # its catalogues name the countries in the active language
    "crm",
    "notifications",
    "gateways",
    "finance",
    "payments",
    "paylinks",
    "obligations",
    "reports",
    "banking",
    "receivables",
    "billing",
    "demo",
    "sandbox",
]

# The migration linter (a development tool, absent from the image): `make test` runs it (docs/operations.md).
if not PRODUCTION and importlib.util.find_spec("django_migration_linter"):
    INSTALLED_APPS.append("django_migration_linter")

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # requests' latencies, for /metrics/ (config.metrics)
    "core.logs.RequestContextMiddleware",  # every log line of a request names it (core.logs)
    "django.middleware.security.SecurityMiddleware",
    "core.body_limit.BodyLimitMiddleware",  # a body over DULY_MAX_REQUEST_BYTES is refused unread
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # visitors: their browser's language; staff: see crm.middleware
    "django.middleware.common.CommonMiddleware",
    "core.csrf.NullOriginMiddleware",  # same-origin posts from no-referrer pages (see core.csrf)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.middleware.TenantScopeMiddleware",
    "crm.middleware.SecondFactorMiddleware",
    "crm.middleware.IdleSessionMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "config.metrics.RequestMetricsMiddleware",  # requests by view, method and status (django-prometheus)
]

# Sign-in: django-axes counts failed sign-ins in the database, so every web process sees the same count.
# An account, or an address, is refused for a quarter of an hour after ten failures; a success or a
# password reset clears the account's count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = 10
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crm.access.signed_in_too_often"
AXES_VERBOSE = False
# Requests an API key may make a minute (counted in Redis, across web processes); more are answered 429.
API_RATE_LIMIT = int(os.environ.get("DULY_API_RATE_LIMIT", "600"))
# The largest bank statement file accepted (a 10,000-line CAMT.053 is about 12 MB); larger is refused unread.
DULY_BANK_FILE_MAX_BYTES = int(os.environ.get("DULY_BANK_FILE_MAX_BYTES", str(25 * 1000 * 1000)))
# The largest request body of any kind: the largest statement file and its form around it.
DULY_MAX_REQUEST_BYTES = DULY_BANK_FILE_MAX_BYTES + 1_000_000

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "crm.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reports:home"  # the staff home: today's work
LOGOUT_REDIRECT_URL = "login"

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
                "django.template.context_processors.csp",
            ],
            "builtins": ["django.templatetags.i18n", "core.templatetags.formats", "core.templatetags.fields"],
        },
    },
]


def _server_url(name: str) -> str:
    """A server's URL from the environment. Importing the settings never starts a server: ``make run``
    and ``make test`` start embedded ones with ``python -m config.embedded -- COMMAND``, which sets both."""
    url = os.environ.get(name)
    if not url:
        raise ImproperlyConfigured(
            f"{name} is not set. Run Duly through make (make run, make test), or any command through "
            f"`python -m config.embedded -- COMMAND` to start embedded PostgreSQL and Redis; or set {name}."
        )
    return url


DATABASES = {"default": dj_database_url.parse(_server_url("DATABASE_URL"), conn_max_age=60, conn_health_checks=True)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# PostgreSQL's row-level security keeps each tenant-scoped transaction to that tenant's rows (core.rls).
DATABASES["default"]["ENGINE"] = "config.postgres"
if os.environ.get("DULY_TEST_DATABASE"):
    # Lets two test runs share one PostgreSQL server without dropping each other's test database.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["DULY_TEST_DATABASE"]}
REDIS_URL = _server_url("REDIS_URL")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# A session ends after an hour without a request (crm.middleware.IdleSessionMiddleware keeps it alive,
# saving it at most every five minutes), and, as Django does, when the password changes.
SESSION_COOKIE_AGE = 60 * 60
SESSION_REFRESH_SECONDS = 5 * 60

CELERY_BROKER_URL = REDIS_URL
# A rediss:// broker verifies the server's certificate: kombu's own default for a bare rediss:// URL is
# not to (it warns and carries on). Options in the URL's query (ssl_cert_reqs=…) still take precedence.
CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED} if REDIS_URL.startswith("rediss://") else False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task whose worker died unacknowledged (acks_late) goes back to the queue this long after it was
# delivered, when a worker next starts or sweeps; it must exceed the longest task (the fault tests shorten it).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("DULY_BROKER_VISIBILITY_TIMEOUT_SECONDS", "3600")),
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = "UTC"
# A worker logs through LOGGING below, as the web processes do (JSON in production), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# British English where nothing names a reader (a task, a service called outside a page); see core.l10n.
LANGUAGE_CODE = "en-gb"
# The languages Duly's own pages, messages and printouts are translated into (locale/, compiled by
# `make install`); the staff member's or tenant's for staff, the customer's for payers (core.l10n).
LANGUAGES = [("en-gb", "English"), ("es", "Español"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The languages a customer may have and a tenant may write its message wordings in; a customer whose
# language Duly's pages do not speak reads them in the tenant's language.
# Each named in itself, as a language picker does: a reader finds their own language whatever the page's.
CUSTOMER_LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch"), ("el", "Ελληνικά")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise reads it at start-up, before any collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Email: anymail (Amazon SES by default; EMAIL_BACKEND picks another) in production, SMTP when
# EMAIL_HOST is set, otherwise the development mailbox (a table shown at /dev/mail/).
_email_backend = os.environ.get(
    "EMAIL_BACKEND",
    "anymail.backends.amazon_ses.EmailBackend"
    if PRODUCTION
    else (
        "django.core.mail.backends.smtp.EmailBackend"
        if os.environ.get("EMAIL_HOST")
        else "notifications.mail.DevMailboxBackend"
    ),
)
_email_options = (
    {
        "host": os.environ["EMAIL_HOST"],
        "port": int(os.environ.get("EMAIL_PORT", "587")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", True),
    }
    if _email_backend.endswith("smtp.EmailBackend")
    else {}
)
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Duly <no-reply@duly.localhost>")
ANYMAIL = {key[len("ANYMAIL_"):]: value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}

# Text messages: Twilio in production; in development and tests a table shown at /dev/mail/.
SMS_BACKEND = os.environ.get(
    "SMS_BACKEND", "notifications.sms.TwilioSmsBackend" if PRODUCTION else "notifications.sms.DatabaseSmsBackend"
)
SMS_FROM_NUMBER = os.environ.get("SMS_FROM_NUMBER", "")
SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "10"))
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_BASE_URL = os.environ.get("TWILIO_BASE_URL", "")  # tests point this at a local fake server
# Development pages such as the mailbox at /dev/mail/; never in production.
DULY_DEV_TOOLS = not PRODUCTION and (DEBUG or ENV == "development")

PHONENUMBER_DEFAULT_FORMAT = "E164"
CURRENCIES = ("EUR", "GBP", "USD", "PAB", "AUD", "CAD")
DEFAULT_CURRENCY = "EUR"

SCOPES_DISABLED = False

# Content-Security-Policy on every response: only Duly's own origin, inline scripts only with the
# request's nonce, no inline styles, no plugins, no framing by other sites. Pages that embed a
# provider's hosted card fields add that provider's origins (payments.pages.allow_provider).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Guesses at pay-link tokens allowed per client address and minute (core.throttle, in Redis).
PAY_LOOKUPS_PER_MINUTE = int(os.environ.get("PAY_LOOKUPS_PER_MINUTE", "30"))

if ENV == "test":
    # Tests share the embedded Redis with a running demo; their own queue keeps the two apart, and
    # each run (DULY_TEST_DATABASE) and each pytest-xdist worker has its own queue and cache keys.
    _run = "-".join(filter(None, [os.environ.get("DULY_TEST_DATABASE"), os.environ.get("PYTEST_XDIST_WORKER")]))
    CELERY_TASK_DEFAULT_QUEUE = f"duly-test-{_run}" if _run else "duly-test"
    CACHES["default"]["KEY_PREFIX"] = CELERY_TASK_DEFAULT_QUEUE
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; never in production

# A queue per kind of work, each with its own worker (Procfile, docker-compose): a burst of webhooks never
# delays an email or a page's task. Everything else goes to the default queue.
DULY_QUEUES = {kind: f"{CELERY_TASK_DEFAULT_QUEUE}-{kind}" if ENV == "test" else kind
               for kind in ("webhooks", "notifications")}
CELERY_TASK_ROUTES = {
    "payments.process_webhook_delivery": {"queue": DULY_QUEUES["webhooks"]},
    "payments.process_webhook_batch": {"queue": DULY_QUEUES["webhooks"]},
    "notifications.*": {"queue": DULY_QUEUES["notifications"]},
    "payments.send_payment_notices": {"queue": DULY_QUEUES["notifications"]},
    "payments.sweep_payment_notices": {"queue": DULY_QUEUES["notifications"]},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # probes and Prometheus speak plain HTTP inside the network (config.health, config.metrics)
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics/$"]
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Log lines on standard error: JSON in production (one object a line, with the request, tenant, user or API
# key and task they are about), readable text elsewhere; never a secret (core.logs, core.redact).
LOG_FORMAT = os.environ.get("DULY_LOG_FORMAT", "json" if PRODUCTION else "text")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"DULY_LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_errors_without_traceback": {"()": "config.log_filters.ClientErrorsWithoutTraceback"},
        "context": {"()": "core.logs.ContextFilter"},
    },
    "formatters": {
        "json": {"()": "core.logs.JsonFormatter"},
        "text": {"()": "core.logs.TextFormatter", "format": "%(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (with DEBUG) would print each of its records a second time.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["client_errors_without_traceback"]},
        "django.db.backends": {"level": "INFO"}, "pgserver": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"},
    },
}

# Error reports to Sentry when SENTRY_DSN is set, with the log context and redacted (config.errors).
SENTRY_ENABLED = errors.start(environment=ENV)

"""Settings for the clearance portal, read from the environment in this one module.

Every variable is listed in README.md. A malformed value stops start-up with a message that
names the variable (see ``clearance.env``).
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP  # type: ignore[import-untyped,unused-ignore]
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from clearance import embedded
from clearance.env import (
    check_redis_url,
    development_secret_key,
    env_bool,
    env_int,
    env_list,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / ".data")))

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off: use a random string of 50 or more characters"
        )
    SECRET_KEY = development_secret_key(DATA_DIR)
elif not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for DEBUG off: use a random string of 50 or more characters"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "clearance",
    "declarations",
    "clearance.risk",
    "clearance.review",
    "refunds",
    "publications",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "simple_history",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
]

MIDDLEWARE = [
    "clearance.middleware.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "clearance.middleware.SessionTimeoutMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before any view reads the body (CSRF reads the form): too large is refused unread.
    "clearance.middleware.RequestSizeLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Deprecated API operations are marked, or answer 410 after their sunset.
    "clearance.api_changes.DeprecationMiddleware",
    # Axes must come last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clearance.urls"
WSGI_APPLICATION = "clearance.wsgi.application"
ASGI_APPLICATION = "clearance.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clearance.context_processors.portal",
            ],
        },
    },
]

# Database: one PostgreSQL for all apps. Unset means the embedded server under DATA_DIR
# (clearance.embedded); Redis likewise.
_database_url = env_str("DATABASE_URL")
if not _database_url:
    _database_url = embedded.database_url(DATA_DIR)
DATABASES = {"default": parse_database_url(_database_url)}
# Persistent connections: opening one per request cost 7x throughput when measured.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if not REDIS_URL:
    REDIS_URL = embedded.redis_url(DATA_DIR)
REDIS_URL = check_redis_url(REDIS_URL)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "clearance",
    }
}

# Celery: Redis broker, no result backend (tasks record their effects in PostgreSQL).
CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "clearance")
# PDFs are rendered from a queue of their own, which a worker reads only when the clearance
# queue is empty (Redis is asked for the queues in this order), so rendering a batch's release
# notices never holds up scoring. A plain `celery worker` reads both.
CELERY_TASK_QUEUES = [
    Queue(CELERY_TASK_DEFAULT_QUEUE),
    Queue(f"{CELERY_TASK_DEFAULT_QUEUE}-documents"),
]
CELERY_BROKER_TRANSPORT_OPTIONS = {"queue_order_strategy": "priority"}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# How often a worker writes its heartbeat, which /healthz reads.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 15, minimum=1)

AUTH_USER_MODEL = "clearance.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
EMAIL_VERIFICATION_MAX_AGE = timedelta(days=3)

# Login throttling: lock an account and address pair after repeated failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
# How many proxies of our own stand in front of the portal (the README's TLS proxy is one): their
# X-Forwarded-For entries are believed, and nothing further left (clearance.limits).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "clearance.limits.client_address"

# Sessions: an idle timeout (renewed by each request) and an absolute one since sign-in.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_ABSOLUTE_TIMEOUT = env_int("SESSION_ABSOLUTE_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Two-factor: staff pages need a verified TOTP device (or a backup code).
OTP_TOTP_ISSUER = env_str("PORTAL_NAME", "Customs Clearance Portal")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Seoul")
# Beat's crontab hours are the administration's local time (statements on the 1st, digests).
CELERY_TIMEZONE = TIME_ZONE
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "build" / "static"
# Front-end packages come from the npm registry at build time (make, the Dockerfile).
STATICFILES_DIRS = [
    ("uswds", BASE_DIR / "node_modules" / "@uswds" / "uswds" / "dist"),
    ("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not env_bool("STATIC_FROM_FINDERS", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or env_bool("STATIC_FROM_FINDERS", default=False)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))

# Mail: SMTP in every environment; the demo and tests run a real SMTP server on loopback.
_email_use_tls = env_bool("EMAIL_USE_TLS", default=False)
_email_use_ssl = env_bool("EMAIL_USE_SSL", default=False)
if _email_use_tls and _email_use_ssl:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("EMAIL_HOST", "127.0.0.1"),
            "port": env_int("EMAIL_PORT", 1025, minimum=1),
            "username": env_str("EMAIL_HOST_USER"),
            "password": env_str("EMAIL_HOST_PASSWORD"),
            "use_tls": _email_use_tls,
            "use_ssl": _email_use_ssl,
            "timeout": env_int("EMAIL_TIMEOUT", 20, minimum=1),
        },
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Customs Clearance Portal <no-reply@localhost>")
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")

# The administration that runs the portal: any economy can, so its brand is configuration.
PORTAL_NAME = env_str("PORTAL_NAME", "Customs Clearance Portal")
PORTAL_ADMINISTRATION = env_str("PORTAL_ADMINISTRATION", "Customs Administration")
# The economy whose low-value regime the portal applies (ISO 3166 alpha-2).
PORTAL_ECONOMY = env_str("PORTAL_ECONOMY", "KR").upper()
# Exchange rates arrive by a feed that beat fetches (clearance.ratefeed): the ECB's reference
# rates by default, or an administration's own date,currency,rate file (units of currency per
# one EXCHANGE_RATE_FEED_BASE, unless the file has a base column).
EXCHANGE_RATE_FEED_URL = env_str(
    "EXCHANGE_RATE_FEED_URL", "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
)
EXCHANGE_RATE_FEED_BASE = env_str("EXCHANGE_RATE_FEED_BASE", "EUR").upper()
# Requests per client to the public estimate API, as DRF writes rates ("60/min").
ESTIMATE_API_RATE = env_str("ESTIMATE_API_RATE", "60/min")
PORTAL_LOGO_URL = env_str("PORTAL_LOGO_URL")
PORTAL_PRIMARY_COLOUR = env_str("PORTAL_PRIMARY_COLOUR", "#1a4480")
if not PORTAL_PRIMARY_COLOUR.startswith("#") or len(PORTAL_PRIMARY_COLOUR) not in (4, 7):
    raise ImproperlyConfigured("PORTAL_PRIMARY_COLOUR must be a hex colour such as #1a4480")

# Payments and refunds. The sandbox gateway signs and verifies its callbacks inside this one
# deployment, so its webhook secret defaults to a key derived from SECRET_KEY (never a constant,
# see refunds.providers); set PAYMENT_SANDBOX_SECRET to sign from a separately hosted sandbox.
PAYMENT_PROVIDER = env_str("PAYMENT_PROVIDER", "sandbox")
if PAYMENT_PROVIDER not in ("sandbox", "stripe"):
    raise ImproperlyConfigured(
        f"PAYMENT_PROVIDER must be one of: sandbox, stripe, got {PAYMENT_PROVIDER!r}"
    )
PAYMENT_SANDBOX_SECRET = env_str("PAYMENT_SANDBOX_SECRET")
# The sandbox moves no money. With DEBUG off it is refused, unless a local full stack (docker
# compose on a developer's machine) opts in with this setting, whose name says what it is.
PAYMENT_SANDBOX_NOT_FOR_PRODUCTION = env_bool("PAYMENT_SANDBOX_NOT_FOR_PRODUCTION", default=False)
if PAYMENT_PROVIDER == "sandbox" and not DEBUG and not PAYMENT_SANDBOX_NOT_FOR_PRODUCTION:
    raise ImproperlyConfigured(
        "PAYMENT_PROVIDER is sandbox, which moves no money, and DEBUG is off: set "
        "PAYMENT_PROVIDER=stripe with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, or, on a "
        "local full stack that no real user reaches, PAYMENT_SANDBOX_NOT_FOR_PRODUCTION=true"
    )
# Stripe Checkout (refunds.stripe_checkout): the secret API key, the webhook endpoint's signing
# secret, and the API's address (a test server, or a proxy, may stand in for api.stripe.com).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
if PAYMENT_PROVIDER == "stripe" and not (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "PAYMENT_PROVIDER is stripe: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"
    )
# Refund limits in whole units of the local currency; reasons approved without an officer.
REFUND_AUTO_APPROVE_LIMIT = env_int("REFUND_AUTO_APPROVE_LIMIT", 50000, minimum=0)
REFUND_AUTO_APPROVE_REASONS = env_list("REFUND_AUTO_APPROVE_REASONS", ["returned"])
REFUND_SUPERVISOR_THRESHOLD = env_int("REFUND_SUPERVISOR_THRESHOLD", 1000000, minimum=0)
REFUND_RETURN_PERIOD_DAYS = env_int("REFUND_RETURN_PERIOD_DAYS", 183, minimum=1)
STATEMENT_PAYMENT_DAYS = env_int("STATEMENT_PAYMENT_DAYS", 15, minimum=1)
DEFERRAL_SUSPEND_AFTER_DAYS = env_int("DEFERRAL_SUSPEND_AFTER_DAYS", 10, minimum=0)

# Publications: consultations and public comments. A consultation stays open at least
# CONSULTATION_MIN_OPEN_DAYS; its final text applies CONSULTATION_MIN_LEAD_DAYS after it closes.
CONSULTATION_MIN_LEAD_DAYS = env_int("CONSULTATION_MIN_LEAD_DAYS", 30, minimum=0)
CONSULTATION_MIN_OPEN_DAYS = env_int("CONSULTATION_MIN_OPEN_DAYS", 30, minimum=1)
COMMENT_RATE_PER_HOUR = env_int("COMMENT_RATE_PER_HOUR", 50, minimum=1)
# Unasked-for messages (password resets, confirmation links) one mailbox gets in an hour.
EMAILS_PER_RECIPIENT_PER_HOUR = env_int("EMAILS_PER_RECIPIENT_PER_HOUR", 3, minimum=1)
# Parcel tracking (/track/): lookups per client address, and per transport document, an hour.
TRACKING_ATTEMPTS_PER_HOUR = env_int("TRACKING_ATTEMPTS_PER_HOUR", 20, minimum=1)
TRACKING_ATTEMPTS_PER_DOCUMENT_PER_HOUR = env_int(
    "TRACKING_ATTEMPTS_PER_DOCUMENT_PER_HOUR", 30, minimum=1
)
# Uploads: a CSV file of declarations may be this large (about 40,000 lines; larger filings go
# by the batch API), and no request body may be larger than REQUEST_MAX_BYTES (a refund's several
# pieces of evidence fit): it is refused (413) before it is read.
CSV_UPLOAD_MAX_BYTES = env_int("CSV_UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 32 * 1024 * 1024, minimum=1)
COMMENT_ATTACHMENT_MAX_BYTES = env_int("COMMENT_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024, minimum=1)
# Pre-moderation (the default) keeps a comment hidden until an editor approves it.
COMMENT_PRE_MODERATION = env_bool("COMMENT_PRE_MODERATION", default=True)
OPEN_DATA_API_RATE = env_str("OPEN_DATA_API_RATE", "120/min")

# Webhooks: the wait in seconds after each failed attempt (about 24 hours in all: after the last
# the delivery has failed and its endpoint is disabled), and how long one attempt may take.
_webhook_retries = env_list(
    "WEBHOOK_RETRY_SCHEDULE", ["5", "300", "1800", "7200", "18000", "28800", "30295"]
)
if not all(item.isdigit() and int(item) > 0 for item in _webhook_retries):
    raise ImproperlyConfigured(
        "WEBHOOK_RETRY_SCHEDULE must be whole numbers of seconds above 0, separated by commas"
    )
WEBHOOK_RETRY_SCHEDULE = [int(item) for item in _webhook_retries]
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)

# Security headers. Production (DEBUG off) passes `check --deploy --fail-level WARNING`.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Behind a TLS-terminating proxy (the deployment guide in README.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "clearance.api.exception_handler",
    # Throttles count X-Forwarded-For only as far as our own proxies (clearance.limits).
    "NUM_PROXIES": TRUSTED_PROXIES,
    # Request bodies are JSON; the views that take files say so (multipart) themselves.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # ?page=N pages; a page that is not a whole number from 1 is a 400 naming "page".
    "DEFAULT_PAGINATION_CLASS": "clearance.api.Pages",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Low-value clearance API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Choice sets that share a field name get names of their own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "DocumentKindEnum": "declarations.models.Document.Kind",
        "CountryEnum": "clearance.api.COUNTRIES",
        "CurrencyEnum": "clearance.api.CURRENCIES",
        "DeclarationStatusEnum": "declarations.models.Status",
    },
    # Request bodies get components of their own, where a non-blank text says minLength 1.
    "COMPONENT_SPLIT_REQUEST": True,
    # The error statuses each operation can answer, in the error envelope (clearance.api).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "clearance.api.document_errors",
        "clearance.api_changes.mark_deprecated",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

"""Django settings for Probity, read from environment variables with safe defaults.

Variables (all optional):

``DATABASE_URL``            sqlite:///path or postgres://user@host:5432/name (default: SQLite under var/)
``PROBITY_WAREHOUSE``       DuckDB file, ``:memory:``, or ``spark:MASTER`` (default: var/warehouse.duckdb)
``PROBITY_VAR_DIR``         where local data lives (default: ./var)
``PROBITY_SECRET_KEY``      signing key; required when PROBITY_DEBUG is off and not running tests
``PROBITY_ALLOWED_HOSTS``   comma-separated host names (default: 127.0.0.1,localhost)
``PROBITY_DEBUG``           true to show debugging pages (default: false)
``PROBITY_HTTPS``           true when served over TLS: secure cookies, HSTS, redirect (default: true)
``PROBITY_AUDIT_KEY``       key for the audit log's HMAC chain (default: derived from the secret key)
``PROBITY_AUDIT_ANCHOR_DIR`` folder the audit log's anchors are appended to (default: var/audit-anchors)
``PROBITY_IDENTIFIER_KEY``  key for hashing national ID numbers (default: derived from the secret key)
``PROBITY_BASE_URL``        the public address of the site, for links in e-mails (default: none, relative links)
``PROBITY_CACHE_URL``       redis://, rediss:// or unix:// address of a shared cache (default: this process's memory)
``PROBITY_REPORTING_PEPPER`` key for hashing reporters' receipts (default: derived from the secret key)
``PROBITY_LOCKOUT``         false to switch off the lock-out after failed sign-ins (default: true)
``PROBITY_DECLARANT_SECOND_FACTOR`` ``required`` to make declarants use the second factor like staff roles
                            (default: optional)
``PROBITY_LOG_FORMAT``      ``json`` (one JSON object per line) or ``plain`` (default: plain at a terminal, with
                            PROBITY_DEBUG and in tests; json otherwise, as under systemd or in a container)

In production set PROBITY_AUDIT_KEY and PROBITY_IDENTIFIER_KEY explicitly: if they are derived from the
secret key, rotating it breaks verification of existing audit entries and matching of hashed IDs.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from probity.config import (
    ConfigurationError,
    database_config,
    ensure_writable_dir,
    env_flag,
    env_list,
    var_dir,
    warehouse_setting,
)
from probity.core.logging import PLAIN_FORMAT as PLAIN_LOG_FORMAT
from probity.core.logging import log_format

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = var_dir()
TESTING = "pytest" in sys.modules or os.environ.get("PROBITY_TESTING") == "1"

DEBUG = env_flag("PROBITY_DEBUG", False)
HTTPS = env_flag("PROBITY_HTTPS", True)

ensure_writable_dir(VAR_DIR, "data (var/)")

_secret = os.environ.get("PROBITY_SECRET_KEY", "")
if not _secret:
    _key_file = VAR_DIR / "secret_key"
    # A local installation gets its own random key, kept outside the repository in var/.
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(64))
        _key_file.chmod(0o600)
    _secret = _key_file.read_text().strip()
if len(_secret) < 32:
    raise ConfigurationError("PROBITY_SECRET_KEY must be at least 32 characters long.")
SECRET_KEY = _secret
AUDIT_KEY = (
    os.environ.get("PROBITY_AUDIT_KEY") or hashlib.sha256(b"probity-audit-chain:" + SECRET_KEY.encode()).hexdigest()
)

# Anchors of the audit log (probity.core.audit.anchor_dir): empty means VAR_DIR/audit-anchors.
PROBITY_AUDIT_ANCHOR_DIR = os.environ.get("PROBITY_AUDIT_ANCHOR_DIR", "").strip()

IDENTIFIER_KEY = (
    os.environ.get("PROBITY_IDENTIFIER_KEY")
    or hashlib.sha256(b"probity-identifier-hash:" + SECRET_KEY.encode()).hexdigest()
)

ALLOWED_HOSTS = env_list("PROBITY_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
if TESTING:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]

DATABASES = {"default": database_config(os.environ.get("DATABASE_URL"), VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PROBITY_WAREHOUSE = warehouse_setting(os.environ.get("PROBITY_WAREHOUSE"), VAR_DIR)

# Nothing that must be shared or survive a restart lives in the cache: the reporting channel's throttles,
# challenges and reporter sessions and django-axes' sign-in failures are database rows. The cache is this
# process's memory unless PROBITY_CACHE_URL names a Redis (useful for Django's own caching only).
_cache_url = os.environ.get("PROBITY_CACHE_URL", "").strip()
if _cache_url and not _cache_url.startswith(("redis://", "rediss://", "unix://")):
    raise ConfigurationError("PROBITY_CACHE_URL must be a redis://, rediss:// or unix:// address.")
CACHES: dict[str, dict[str, object]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 100_000}}
    )
}
# Keyed hashes of reporters' receipts; derived from the secret key unless set (set it in production).
PROBITY_REPORTING_PEPPER = (
    os.environ.get("PROBITY_REPORTING_PEPPER")
    or hashlib.sha256(b"probity-reporting-pepper:" + SECRET_KEY.encode()).hexdigest()
)

# The site's public address, for links in reminder and notification e-mails.
PROBITY_BASE_URL = os.environ.get("PROBITY_BASE_URL", "").strip()
# A declaration step with many rows posts many fields; Django's default (1000) would refuse ~55 rows.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "probity.core",
    "probity.warehouse",
    "probity.standards",
    "probity.procurement",
    "probity.ownership",
    "probity.entities",
    "probity.reporting",
    "probity.declarations",
    "probity.cases",
    "probity.demo",
]

MIDDLEWARE = [
    # First of all: /healthz and /readyz answer before the HTTPS redirect, the host check and sessions.
    "probity.core.health.HealthCheckMiddleware",
    # Then: the reporting channel's requests lose the client's address and browser before anything logs them.
    "probity.reporting.middleware.ReporterPrivacyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "probity.core.middleware.AuditActorMiddleware",
    "probity.core.middleware.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "probity.urls"
WSGI_APPLICATION = "probity.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "probity.core.context_processors.navigation",
            ],
        },
    }
]

# --- authentication -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "probity.core.rules.ObjectRulesBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "core:login"

# Lock-out after repeated failures (django-axes), for 30 minutes: 5 failures per user name and address, or
# 20 per user name from any number of addresses (probity.core.signin.LockoutHandler). Failures from an
# address already locked out are not counted, so one address alone cannot lock a user out for everyone.
AXES_FAILURE_LIMIT = 5
PROBITY_USERNAME_FAILURE_LIMIT = 20
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_HANDLER = "probity.core.signin.LockoutHandler"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLED = env_flag("PROBITY_LOCKOUT", True)

# Whether declarants must use the second factor too (staff roles always must): optional or required.
# Read at run time (probity.core.roles.needs_second_factor); any other value there counts as required.
PROBITY_DECLARANT_SECOND_FACTOR = os.environ.get("PROBITY_DECLARANT_SECOND_FACTOR", "optional").strip().lower()
if PROBITY_DECLARANT_SECOND_FACTOR not in ("optional", "required"):
    raise ConfigurationError(
        "PROBITY_DECLARANT_SECOND_FACTOR must be optional or required, "
        f"not {os.environ.get('PROBITY_DECLARANT_SECOND_FACTOR')!r}."
    )

OTP_TOTP_ISSUER = "Probity"
OTP_TOTP_THROTTLE_FACTOR = 1

# --- cookies, headers, TLS -------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_SSL_REDIRECT = not TESTING
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- languages -----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
    ("ar", _("Arabic")),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- static files --------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- logging: no personal data; request lines are not logged by the application ------------
# PROBITY_LOG_FORMAT: json (one object per line, probity.core.logging.JsonFormatter) or plain.
LOG_FORMAT = log_format(debug=DEBUG, testing=TESTING)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": PLAIN_LOG_FORMAT},
        "json": {"()": "probity.core.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "axes": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "probity": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # gunicorn's own messages (probity serve --web) go through the same handler; its access log is off.
        "gunicorn.error": {"level": "INFO"},
    },
}

# --- background jobs (probity.core.jobs): Django's Tasks framework, queue in the database --------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "warehouse"],
    }
}

# --- Probity --------------------------------------------------------------------------------
PROBITY_DETECTOR_PARAMETERS: dict[str, dict[str, object]] = {}
NINJA_PAGINATION_PER_PAGE = 50

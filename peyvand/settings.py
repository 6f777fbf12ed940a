"""Peyvand settings: the only place configuration is read, and only from the environment.

PEYVAND_HOME   where runtime data lives (default ./var): SQLite DB, secret key, Huey DB, exports
DATABASE_URL   postgres://... switches to PostgreSQL; unset means SQLite (WAL) under PEYVAND_HOME
REDIS_URL      redis://... puts the Huey queue and the cache on Redis
SECRET_KEY     generated once and kept in $PEYVAND_HOME/secret_key when not given
PEYVAND_DEBUG  "1" for development only; refused together with a public bind address
PEYVAND_ALLOWED_HOSTS  comma-separated; default 127.0.0.1,localhost
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("PEYVAND_HOME") or "var").resolve()
HOME.mkdir(parents=True, exist_ok=True)

TESTING = "pytest" in sys.modules or os.environ.get("PEYVAND_TESTING") == "1"


def _secret_key() -> str:
    given = os.environ.get("SECRET_KEY", "").strip()
    if given:
        if len(given) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
        return given
    path = HOME / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("PEYVAND_DEBUG", "") == "1"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("PEYVAND_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
if TESTING:
    ALLOWED_HOSTS += ["testserver"]
if DEBUG and "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("PEYVAND_DEBUG=1 may not be combined with PEYVAND_ALLOWED_HOSTS=*.")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "peyvand.base",
    "peyvand.accounts",
    "peyvand.contacts",
    "peyvand.commerce",
    "peyvand.imports",
    "peyvand.consent",
    "peyvand.mailcatcher",
    "peyvand.insights",
    "peyvand.messaging",
    "peyvand.tracking",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "peyvand.accounts.middleware.UserLanguageMiddleware",
    "peyvand.middleware.JsonApiErrors",
    "peyvand.middleware.RefuseUnstorableQuery",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peyvand.urls"
WSGI_APPLICATION = "peyvand.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "peyvand.accounts.context.role_context",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL (or unset for SQLite).")
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(HOME / "peyvand.sqlite3"),
            "OPTIONS": {
                # WAL lets the web server read while the worker writes; IMMEDIATE avoids
                # "database is locked" on lock upgrade inside transactions.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Queue and cache ----------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
HUEY_IMMEDIATE = os.environ.get("PEYVAND_HUEY_IMMEDIATE", "1" if TESTING else "0") == "1"
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("PEYVAND_QUEUE_NAME", "peyvand"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "peyvand",
        }
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": os.environ.get("PEYVAND_QUEUE_NAME", "peyvand"),
        "filename": str(HOME / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(HOME / "cache"),
        }
    }
if TESTING and not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "base:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
# Failed sign-ins per (username, IP) within the window before further attempts are refused.
LOGIN_THROTTLE_ATTEMPTS = int(os.environ.get("PEYVAND_LOGIN_THROTTLE_ATTEMPTS", "5"))
LOGIN_THROTTLE_WINDOW = int(os.environ.get("PEYVAND_LOGIN_THROTTLE_WINDOW", "900"))
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Language and time --------------------------------------------------------------------
LANGUAGE_CODE = "fa"
LANGUAGES = [("fa", _("Persian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("PEYVAND_TIME_ZONE", "Asia/Tehran")
LANGUAGE_COOKIE_NAME = "peyvand_language"

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
# Project-wide assets (the stylesheet) live beside the project templates, not in an app.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(HOME / "files")}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

EXPORT_DIR = HOME / "exports"

# --- Outbound mail ------------------------------------------------------------------------
# PEYVAND_SMTP_URL: smtp://user:pass@host:587?starttls=1, smtp+starttls://…, smtps://…:465.
# Unset: everything goes to the built-in catcher (peyvand.mailcatcher), never the internet.
SMTP_URL = os.environ.get("PEYVAND_SMTP_URL", "").strip()
CATCHER_PORT = int(os.environ.get("PEYVAND_CATCHER_PORT", "1025"))
if SMTP_URL:
    _smtp = urlsplit(SMTP_URL)
    if _smtp.scheme not in ("smtp", "smtp+starttls", "smtps"):
        raise ImproperlyConfigured("PEYVAND_SMTP_URL must be smtp://, smtp+starttls:// or smtps://")
    _starttls = _smtp.scheme == "smtp+starttls" or "starttls=1" in _smtp.query
    EMAIL_HOST = _smtp.hostname or "localhost"
    EMAIL_PORT = _smtp.port or (465 if _smtp.scheme == "smtps" else 587 if _starttls else 25)
    EMAIL_HOST_USER = unquote(_smtp.username or "")
    EMAIL_HOST_PASSWORD = unquote(_smtp.password or "")
    EMAIL_USE_SSL, EMAIL_USE_TLS = _smtp.scheme == "smtps", _starttls
else:
    EMAIL_HOST, EMAIL_PORT = "127.0.0.1", CATCHER_PORT
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("PEYVAND_MAIL_FROM", "Peyvand <no-reply@localhost>")
# Where customers reach this site: absolute links in mail and SMS (tracking, unsubscribe,
# preferences) are built on it. Empty: the request's own host, or http://127.0.0.1:8000.
PEYVAND_PUBLIC_URL = os.environ.get("PEYVAND_PUBLIC_URL", "").rstrip("/")
# Optional DKIM signing of every outgoing e-mail (messaging.dkim): a PEM private key (RSA or
# Ed25519) in PEYVAND_DKIM_KEY_FILE, its DNS selector, and the signing domain (default: the
# From address's). Unset: messages go unsigned (a relay may sign them).
PEYVAND_DKIM_KEY_FILE = os.environ.get("PEYVAND_DKIM_KEY_FILE", "").strip()
PEYVAND_DKIM_SELECTOR = os.environ.get("PEYVAND_DKIM_SELECTOR", "").strip()
PEYVAND_DKIM_DOMAIN = os.environ.get("PEYVAND_DKIM_DOMAIN", "").strip()
# The domain of bounce+<token>@… return paths (tracking.bounces); "" falls back to localhost.
PEYVAND_BOUNCE_DOMAIN = os.environ.get("PEYVAND_BOUNCE_DOMAIN", "").strip()
PEYVAND_SMS_INBOUND_TOKEN = os.environ.get("PEYVAND_SMS_INBOUND_TOKEN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PEYVAND_LOG_LEVEL", "WARNING")},
}

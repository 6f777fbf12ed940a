"""Peyvand settings: the only place configuration is read, and only from the environment.

PEYVAND_HOME   where runtime data lives (default ./var): SQLite DB, secret key, Huey DB, exports
DATABASE_URL   postgres://... switches to PostgreSQL; unset means SQLite (WAL) under PEYVAND_HOME
REDIS_URL      redis://... puts the Huey queue and the cache on Redis
SECRET_KEY     generated once and kept in $PEYVAND_HOME/secret_key when not given
PEYVAND_DEBUG  "1" for development only; refused with any host name that is not loopback
PEYVAND_ALLOWED_HOSTS  comma-separated; default 127.0.0.1,localhost (+ PEYVAND_PUBLIC_URL's host)
PEYVAND_PUBLIC_URL  where customers reach the site; https:// turns on secure cookies and HSTS
PEYVAND_TRUSTED_PROXIES  comma-separated addresses/CIDRs of reverse proxies whose
               X-Forwarded-For and X-Forwarded-Proto are believed
Every other PEYVAND_* variable is read below, next to the setting it fills, with its default.
Code reads these settings from django.conf.settings, never the environment: one place to look,
and tests change them with pytest-django's `settings` fixture.

Over 400 lines on purpose: every setting is declared here, each with its variable, default and
why, so this is the one page an operator reads; splitting it would hide some of them.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from peyvand.base.http import is_loopback_host
from peyvand.base.smtp_url import parse_smtp_url

BASE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("PEYVAND_HOME") or "var").resolve()
HOME.mkdir(parents=True, exist_ok=True)


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


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "").strip() or default)


def _env_count(name: str) -> int | None:
    """A positive whole number from the environment; None (size it yourself) otherwise."""
    given = os.environ.get(name, "").strip()
    return int(given) if given.isdigit() and int(given) > 0 else None


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("PEYVAND_DEBUG", "") == "1"

# --- Where the site is reached: TLS and reverse proxies -----------------------------------
# Where customers reach this site: the only base of absolute links (mail, SMS, webhook and
# sign-up URLs), never a request's Host header. Unset: the local demo address.
PEYVAND_PUBLIC_URL = os.environ.get("PEYVAND_PUBLIC_URL", "").strip().rstrip("/")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
_public = urlsplit(PEYVAND_PUBLIC_URL or DEFAULT_PUBLIC_URL)
try:
    _public_port = _public.port
except ValueError:
    _public_port = -1
if _public.scheme not in ("http", "https") or not _public.hostname or _public_port == -1:
    raise ImproperlyConfigured("PEYVAND_PUBLIC_URL must be an http:// or https:// address, "
                               "such as https://crm.example.com.")
if _public.path not in ("", "/") or _public.query or _public.fragment or "@" in _public.netloc:
    raise ImproperlyConfigured("PEYVAND_PUBLIC_URL is the site's address only (scheme, host and "
                               "port), without a path: Peyvand is served at the root of its "
                               "host.")
PUBLIC_HTTPS = _public.scheme == "https"
_public_host = f"[{_public.hostname}]" if ":" in (_public.hostname or "") else _public.hostname
PUBLIC_PORT = _public_port or (443 if PUBLIC_HTTPS else 80)
PUBLIC_ORIGIN = f"{_public.scheme}://{_public_host}" + (
    f":{_public_port}" if _public_port and _public_port != (443 if PUBLIC_HTTPS else 80) else "")


def _trusted_proxies(value: str) -> list[str]:
    networks = []
    for item in (i.strip() for i in value.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"PEYVAND_TRUSTED_PROXIES: “{item}” is not an IP address "
                                       "or a network such as 10.0.0.0/8.")
        if network.prefixlen == 0:
            raise ImproperlyConfigured(f"PEYVAND_TRUSTED_PROXIES may not trust every address "
                                       f"({item}): anyone could then choose the address that "
                                       "sign-in throttling and rate limits see.")
        networks.append(str(network))
    return networks


# Reverse proxies in front of Peyvand. Only their X-Forwarded-For (client address, see
# base.http.client_ip) and X-Forwarded-Proto are believed; base.http.TrustedProxyMiddleware
# drops those headers from anyone else, so no client can claim another address or HTTPS.
PEYVAND_TRUSTED_PROXIES = _trusted_proxies(os.environ.get("PEYVAND_TRUSTED_PROXIES", ""))
if PEYVAND_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Forms posted from the public address pass the CSRF origin check even when a proxy rewrites
# the Host header.
CSRF_TRUSTED_ORIGINS = [PUBLIC_ORIGIN]
if PUBLIC_HTTPS:
    # Customers and staff reach the site over TLS only: cookies never travel in clear, and
    # browsers are told to use HTTPS (HSTS; PEYVAND_HSTS_SECONDS=0 turns it off).
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    _hsts = os.environ.get("PEYVAND_HSTS_SECONDS", "31536000").strip()
    if not _hsts.isdigit():
        raise ImproperlyConfigured("PEYVAND_HSTS_SECONDS is a whole number of seconds.")
    SECURE_HSTS_SECONDS = int(_hsts)
    # Without a trusted proxy no request can show it came over HTTPS: redirecting would loop.
    SECURE_SSL_REDIRECT = bool(PEYVAND_TRUSTED_PROXIES)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # `peyvand up` probes it over plain HTTP

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("PEYVAND_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
if _public_host and _public_host not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public_host)


if DEBUG and not all(is_loopback_host(h) for h in ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        "PEYVAND_DEBUG=1 shows internals to every visitor; it may only be used with loopback "
        "host names (127.0.0.1, ::1, localhost). Not loopback: "
        + ", ".join(h for h in ALLOWED_HOSTS if not is_loopback_host(h))
        + " (from PEYVAND_ALLOWED_HOSTS and the host of PEYVAND_PUBLIC_URL).")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # django-ninja's templates and its bundled Swagger UI: /api/v1/docs needs no CDN.
    "ninja",
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
    "peyvand.audiences",
    "peyvand.support",
    "peyvand.campaigns",
    "peyvand.journeys",
]

MIDDLEWARE = [
    "peyvand.base.http.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "peyvand.accounts.middleware.UserLanguageMiddleware",
    "peyvand.accounts.middleware.TwoFactorMiddleware",
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
                "peyvand.navigation.navigation",
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
    # JIT off: it pays only for long analytical scans, and compiling took ~4 s of a 1M-contact
    # segment count (docs/benchmarks.md, Segments); short OLTP queries never gain from it.
    # Options given in the URL (?options=...) come after, so they win.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = " ".join(["-c jit=off", _pg_options.get("options", "")]).strip()
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
                # secure_delete: what is deleted or overwritten is zeroed in the file, so an
                # erased person cannot be read back from free space (docs/security.md).
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=20000;"
                    "PRAGMA secure_delete=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Queue and cache ----------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
# PEYVAND_HUEY_IMMEDIATE=1 runs tasks in the calling process, without a worker (the test
# settings, peyvand.settings_test, default to it).
HUEY_IMMEDIATE = os.environ.get("PEYVAND_HUEY_IMMEDIATE", "0") == "1"
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
        "huey_class": "peyvand.base.queue.SqliteHuey",  # zeroes deleted tasks
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
# Where rate-limit counts live (base.ratelimit): Redis with REDIS_URL, else the default cache
# (the file cache); "database" shares them between web servers that share only the database.
RATE_LIMIT_BACKEND = os.environ.get("PEYVAND_RATE_LIMIT_BACKEND", "").strip() \
    or ("redis" if REDIS_URL else "cache")
if RATE_LIMIT_BACKEND not in ("redis", "database", "cache"):
    raise ImproperlyConfigured("PEYVAND_RATE_LIMIT_BACKEND must be redis, database or cache.")
if RATE_LIMIT_BACKEND == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("PEYVAND_RATE_LIMIT_BACKEND=redis needs REDIS_URL.")

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
# Two-factor sign-in (accounts.twofactor): any user may add an authenticator app; with
# PEYVAND_REQUIRE_2FA=1 owners must, and their API tokens are refused until they have.
_require_2fa = os.environ.get("PEYVAND_REQUIRE_2FA", "").strip()
if _require_2fa not in ("", "0", "1"):
    raise ImproperlyConfigured("PEYVAND_REQUIRE_2FA is 1 (owners must use two-factor sign-in) "
                               "or 0.")
PEYVAND_REQUIRE_2FA = _require_2fa == "1"
OTP_TOTP_ISSUER = "Peyvand"
TWO_FACTOR_PENDING_SECONDS = 300  # from the password to the code
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
WHITENOISE_AUTOREFRESH = DEBUG

EXPORT_DIR = HOME / "exports"
# Staged import uploads (imports.uploads); None: $PEYVAND_HOME/imports, following HOME.
IMPORT_DIR: Path | None = None
# Import files past these are refused with the reason (imports.limits). A million-row contact
# file is about 200 MB of CSV, or an XLSX unpacking to about 1 GB with 3 million texts.
_MB = 1024 * 1024
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("PEYVAND_IMPORT_MAX_UPLOAD_MB", "1024")) * _MB
IMPORT_MAX_ROWS = int(os.environ.get("PEYVAND_IMPORT_MAX_ROWS", "2000000"))
IMPORT_MAX_COLUMNS = int(os.environ.get("PEYVAND_IMPORT_MAX_COLUMNS", "500"))
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = \
    int(os.environ.get("PEYVAND_IMPORT_XLSX_MAX_UNCOMPRESSED_MB", "2048")) * _MB
IMPORT_XLSX_MAX_RATIO = int(os.environ.get("PEYVAND_IMPORT_XLSX_MAX_RATIO", "100"))
IMPORT_XLSX_MAX_SHARED_STRINGS = int(os.environ.get("PEYVAND_IMPORT_XLSX_MAX_SHARED_STRINGS",
                                                    "3000000"))

# --- Outbound mail ------------------------------------------------------------------------
# PEYVAND_SMTP_URL: smtp://user:pass@host:587?starttls=1, smtp+starttls://…, smtps://…:465.
# Unset: everything goes to the built-in catcher (peyvand.mailcatcher), never the internet.
# PEYVAND_SMTP is the URL parsed once (base.smtp_url.SmtpUrl), None when unset; it wins over
# the sending settings row of the UI (messaging.smtp).
SMTP_URL = os.environ.get("PEYVAND_SMTP_URL", "").strip()
# The built-in catcher's address (PEYVAND_CATCHER_HOST, PEYVAND_CATCHER_PORT).
CATCHER_HOST = os.environ.get("PEYVAND_CATCHER_HOST", "").strip() or "127.0.0.1"
CATCHER_PORT = _env_int("PEYVAND_CATCHER_PORT", 1025)
# PEYVAND_SMTP_CONNECTIONS: the sender's SMTP sessions, over the URL's and the UI's; None:
# theirs.
SMTP_CONNECTIONS = _env_count("PEYVAND_SMTP_CONNECTIONS")
PEYVAND_SMTP = None
if SMTP_URL:
    try:
        PEYVAND_SMTP = parse_smtp_url(SMTP_URL)
    except ValueError:
        raise ImproperlyConfigured("PEYVAND_SMTP_URL must be smtp://, smtp+starttls:// or smtps://"
                                   " with a host, such as smtp://user:pass@host:587?starttls=1")
    EMAIL_HOST, EMAIL_PORT = PEYVAND_SMTP.host, PEYVAND_SMTP.port
    EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = PEYVAND_SMTP.username, PEYVAND_SMTP.password
    EMAIL_USE_SSL, EMAIL_USE_TLS = PEYVAND_SMTP.use_tls, PEYVAND_SMTP.start_tls
else:
    EMAIL_HOST, EMAIL_PORT = CATCHER_HOST, CATCHER_PORT
EMAIL_TIMEOUT = 20
# PEYVAND_MAIL_FROM: the From of messages when the UI's sending settings give none.
DEFAULT_FROM_EMAIL = (os.environ.get("PEYVAND_MAIL_FROM", "").strip()
                      or "Peyvand <no-reply@localhost>")
# Authors' templates (messaging.sandbox): a render stops past this many seconds, loop steps
# (all loops together) or characters (per part, and per value a template makes).
TEMPLATE_RENDER_SECONDS = float(os.environ.get("PEYVAND_TEMPLATE_RENDER_SECONDS", "1"))
TEMPLATE_MAX_LOOP_ITERATIONS = int(os.environ.get("PEYVAND_TEMPLATE_MAX_LOOP_ITERATIONS",
                                                  "10000"))
TEMPLATE_MAX_OUTPUT = int(os.environ.get("PEYVAND_TEMPLATE_MAX_OUTPUT", "1000000"))
# Optional DKIM signing of every outgoing e-mail (messaging.dkim): a PEM private key (RSA or
# Ed25519) in PEYVAND_DKIM_KEY_FILE, its DNS selector, and the signing domain (default: the
# From address's). Unset: messages go unsigned (a relay may sign them).
PEYVAND_DKIM_KEY_FILE = os.environ.get("PEYVAND_DKIM_KEY_FILE", "").strip()
PEYVAND_DKIM_SELECTOR = os.environ.get("PEYVAND_DKIM_SELECTOR", "").strip()
PEYVAND_DKIM_DOMAIN = os.environ.get("PEYVAND_DKIM_DOMAIN", "").strip()
# The domain of bounce+<token>@… return paths (tracking.bounces); "" falls back to localhost.
PEYVAND_BOUNCE_DOMAIN = os.environ.get("PEYVAND_BOUNCE_DOMAIN", "").strip()
# Where VERP bounces and feedback-loop (ARF) reports come in (tracking.inbound): the SMTP
# listener's address, and the address a provider's complaint reports are sent to.
INBOUND_SMTP_HOST = os.environ.get("PEYVAND_INBOUND_SMTP_HOST", "").strip() or "127.0.0.1"
INBOUND_SMTP_PORT = _env_int("PEYVAND_INBOUND_SMTP_PORT", 2526)
PEYVAND_FBL_ADDRESS = os.environ.get("PEYVAND_FBL_ADDRESS", "").strip().lower()
# The SMS gateway (messaging's channels): catcher://, kavenegar://KEY@?sender=…,
# smsir://KEY@?line=…; "" is the catcher, which sends nothing.
PEYVAND_SMS_URL = os.environ.get("PEYVAND_SMS_URL", "").strip()
# Lunar (Hijri) occasions: Iran's official day follows moon sighting, usually one day after the
# Umm al-Qura calendar (192 of 293 dates in 2001-2026; the same day 100 times): campaigns
# shift lunar days by this many days (peyvand/campaigns/occasions.py).
PEYVAND_LUNAR_SHIFT = int(os.environ.get("PEYVAND_LUNAR_SHIFT", "1") or 0)
# A journey's webhook step calls https URLs only; "1" also allows http://127.0.0.1 (local
# development and tests).
PEYVAND_WEBHOOK_LOOPBACK_HTTP = os.environ.get("PEYVAND_WEBHOOK_LOOPBACK_HTTP", "") == "1"
# What the gateway charges per SMS part, in rial (campaigns estimate a send's cost; 0: unknown).
PEYVAND_SMS_PART_PRICE = int(os.environ.get("PEYVAND_SMS_PART_PRICE", "0") or 0)
# The shared secret an SMS gateway's inbound (reply/STOP) webhook must carry.
PEYVAND_SMS_INBOUND_TOKEN = os.environ.get("PEYVAND_SMS_INBOUND_TOKEN", "")
# Queueing a message starts the sender once the transaction commits; tests turn it off and
# run the sender themselves.
MESSAGING_AUTOSEND = True

# --- Sizing (peyvand.serving): None sizes by the CPUs ------------------------------------
WEB_WORKERS = _env_count("PEYVAND_WEB_WORKERS")
WEB_THREADS = _env_count("PEYVAND_WEB_THREADS")
SENDER_PROCESSES = _env_count("PEYVAND_SENDER_PROCESSES")

# --- Tracking -----------------------------------------------------------------------------
# Where the tracking endpoints spool hits before the worker loads them (tracking.spool);
# "": $PEYVAND_HOME/tracking-spool.
TRACKING_SPOOL = os.environ.get("PEYVAND_TRACKING_SPOOL", "").strip()
# Interest scores halve in this many days (tracking.interests).
TRACKING_INTEREST_HALF_LIFE_DAYS = _env_int("PEYVAND_TRACKING_INTEREST_HALF_LIFE_DAYS", 30)
# This many soft bounces within the days make an address stop receiving (tracking.bounces).
TRACKING_SOFT_BOUNCE_LIMIT = _env_int("PEYVAND_TRACKING_SOFT_BOUNCE_LIMIT", 3)
TRACKING_SOFT_BOUNCE_DAYS = _env_int("PEYVAND_TRACKING_SOFT_BOUNCE_DAYS", 30)
# An open or click this soon after sending is a machine's (scanners, prefetch), not a person's
# (tracking.events).
TRACKING_MACHINE_OPEN_SECONDS = _env_int("PEYVAND_TRACKING_MACHINE_OPEN_SECONDS", 3)
TRACKING_MACHINE_CLICK_SECONDS = _env_int("PEYVAND_TRACKING_MACHINE_CLICK_SECONDS", 10)

# --- Consent: public sign-up forms and links ---------------------------------------------
# Sign-ups one address (IP) may submit in the window (seconds) before it is refused.
CONSENT_SIGNUP_LIMIT = _env_int("PEYVAND_CONSENT_SIGNUP_LIMIT", 10)
CONSENT_SIGNUP_WINDOW = _env_int("PEYVAND_CONSENT_SIGNUP_WINDOW", 3600)
# A form filled faster than this many seconds is a robot's.
CONSENT_MIN_FILL_SECONDS = _env_int("PEYVAND_CONSENT_MIN_FILL_SECONDS", 3)
# Confirmation messages one e-mail address or phone number receives a day.
CONSENT_CONFIRMATIONS_PER_DAY = _env_int("PEYVAND_CONSENT_CONFIRMATIONS_PER_DAY", 3)
# Days a preference or unsubscribe link in a message stays valid.
CONSENT_LINK_MAX_AGE_DAYS = _env_int("PEYVAND_CONSENT_LINK_MAX_AGE_DAYS", 400)

# PEYVAND_LOG_LEVEL as given ("" when not): the worker then logs to the terminal at that level
# instead of to $PEYVAND_HOME/logs/worker.log (peyvand.serving.setup_worker_logging).
LOG_LEVEL_ASKED = os.environ.get("PEYVAND_LOG_LEVEL", "").strip().upper()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PEYVAND_LOG_LEVEL", "WARNING")},
}

"""Settings, all read from the environment with safe defaults.

With nothing set, the project runs on SQLite in var/ and on the embedded Redis that
`bin/run` starts on a Unix socket in var/. Set DATABASE_URL and REDIS_URL to use real servers.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from .env import env_bool, env_float, env_int, env_list, env_str, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = secret_key(VAR_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "crispy_forms",
    "crispy_bootstrap5",
    "formtools",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "health_check",
    "exchange_groups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "controlpanel.middleware.ChosenLanguageMiddleware",
    "controlpanel.middleware.RefuseNulBytesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Records the logged-in user as the author of the changes a request makes.
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers a locked-out login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "controlpanel.urls"
WSGI_APPLICATION = "controlpanel.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
        # A kept connection the server dropped (failover, restart) is replaced, not used.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share the file: WAL lets readers run beside the
    # writer, IMMEDIATE transactions take the write lock up front instead of failing midway.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory, so that a real worker process sees the test database too.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes: after LOGIN_FAILURE_LIMIT wrong passwords for one username from one address
# (panel and admin logins alike), that pair is locked out for LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "controlpanel.middleware.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security (on unless DEBUG; `manage.py check --deploy` is clean with DEBUG off) --
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# The load balancer probes /health/ over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
# django-csp: scripts only from our own files (no inline script, no eval). Inline styles
# stay allowed: htmx and the API's documentation page write some.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Redis and Celery ---------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", f"redis+socket://{VAR_DIR / 'redis.sock'}")

# The task row in the database is the source of truth; a Celery message is only a wake-up
# (see exchange_groups/engine.py). Late acks and a sweep make lost messages harmless.
TASK_MAX_ATTEMPTS = env_int("TASK_MAX_ATTEMPTS", 3)
# A task whose worker dies under it this many times (it kills its worker: out of memory, a
# crash in a library) fails for good instead of being taken back without end, so that the
# tasks after it on its group run.
TASK_MAX_CRASHES = env_int("TASK_MAX_CRASHES", 3)
TASK_RETRY_BACKOFF = env_float("TASK_RETRY_BACKOFF", 5.0)  # seconds, doubled each attempt
# A `doing` task whose lease ran out is freed; its worker renews the lease every third of it.
TASK_LEASE_SECONDS = env_float("TASK_LEASE_SECONDS", 30.0)
TASK_STALE_SECONDS = env_float("TASK_STALE_SECONDS", 60.0)  # a `todo` task older is re-sent
TASK_SWEEP_INTERVAL = env_float("TASK_SWEEP_INTERVAL", 30.0)
# A worker that finishes a task goes on with its group's next one for up to this long, then
# sends a message for the rest (so that one busy group does not hold a worker for long).
TASK_DRAIN_SECONDS = env_float("TASK_DRAIN_SECONDS", 1.0)
# A worker's commits do not wait for the disk (PostgreSQL's asynchronous commit): a task
# whose outcome a database crash loses is applied again (controlpanel/celery.py).
TASK_ASYNCHRONOUS_COMMIT = env_bool("TASK_ASYNCHRONOUS_COMMIT", True)

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Unacknowledged messages come back after this; the sweep is faster, this is a backstop.
    "visibility_timeout": int(TASK_LEASE_SECONDS * 2),
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "exchange"
# The sweep has a queue of its own, which every worker also consumes, so that it never
# waits behind a backlog of tasks; a sweep not run within its interval is dropped.
CELERY_TASK_QUEUES = [Queue("exchange"), Queue("sweep")]
CELERY_TASK_ROUTES = {"exchange_groups.tasks.sweep_tasks": {"queue": "sweep"}}
CELERY_BEAT_SCHEDULE = {
    "sweep-tasks": {
        "task": "exchange_groups.tasks.sweep_tasks",
        "schedule": TASK_SWEEP_INTERVAL,
        "options": {"expires": TASK_SWEEP_INTERVAL},
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False


# --- API (Django REST framework, OpenAPI by drf-spectacular) -----------------------------
def _cache_location(url: str) -> str:
    """The broker URL in redis-py's words (kombu says redis+socket:// for a Unix socket)."""
    if url.startswith("redis+socket://"):
        path, _sep, query = url.removeprefix("redis+socket://").partition("?")
        db = query.removeprefix("virtual_host=") if query.startswith("virtual_host=") else "0"
        return f"unix://{path}?db={db}"
    return url


CACHES = {
    # Shared by every web process: the API's rate limits count across all of them.
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _cache_location(REDIS_URL),
    },
}
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/min")  # per customer, all tokens together
API_BAD_TOKEN_RATE_LIMIT = env_str("API_BAD_TOKEN_RATE_LIMIT", "30/min")  # per client address
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["exchange_groups.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["exchange_groups.api.auth.CustomerRateThrottle"],
    # The client address is the one the TLS proxy saw (X-Forwarded-For), else the peer's.
    "NUM_PROXIES": 1 if env_bool("BEHIND_TLS_PROXY", False) else 0,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["exchange_groups.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "exchange_groups.api.errors.handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exchange contact groups API",
    "DESCRIPTION": "Mailing lists (contact groups) of a hosted Exchange service, shaped like "
    "the OVHcloud API. Authenticate with `Authorization: Bearer <token>` (create a token "
    "in the control panel). Every change returns the task that applies it.",
    "VERSION": "1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "exchange_groups.api.schema.add_error_responses",
    ],
}

# --- Provisioning backend -------------------------------------------------------------
# A dotted path to a class with one method per task function (exchange_groups/backends/).
PROVISIONING_BACKEND = env_str(
    "PROVISIONING_BACKEND", "exchange_groups.backends.database.DatabaseBackend"
)
PROVISIONING_OPTIONS = {
    # Seconds each task waits before it is applied, so the asynchronous flow can be seen.
    "delay": env_float("PROVISIONING_DELAY", 0.0),
    # Probability (0 to 1) that one item fails, to see and test errors and retries.
    "failure_rate": env_float("PROVISIONING_FAILURE_RATE", 0.0),
}

# --- The directory platform (exchange_groups/directory_tree.py, deploy/README.md) ----------
# Used with PROVISIONING_BACKEND=exchange_groups.backends.directory.DirectoryBackend, by the
# account sync and the drift check. The bind DN needs write access below LDAP_BASE_DN.
LDAP_URL = env_str("LDAP_URL", "ldap://127.0.0.1:389")
LDAP_BIND_DN = env_str("LDAP_BIND_DN", "")
LDAP_BIND_PASSWORD = env_str("LDAP_BIND_PASSWORD", "")
LDAP_BASE_DN = env_str("LDAP_BASE_DN", "dc=exchange,dc=local")
LDAP_START_TLS = env_bool("LDAP_START_TLS", False)
LDAP_CA_FILE = env_str("LDAP_CA_FILE", "")  # CA certificate(s) to verify the server with
LDAP_TIMEOUT = env_float("LDAP_TIMEOUT", 5.0)  # seconds, for connecting and each operation
# How often the account sync and the drift check run (seconds; Celery beat).
PLATFORM_SYNC_INTERVAL = env_float("PLATFORM_SYNC_INTERVAL", 300.0)
DRIFT_CHECK_INTERVAL = env_float("DRIFT_CHECK_INTERVAL", 900.0)
# Both do nothing unless the directory backend is chosen.
CELERY_BEAT_SCHEDULE["sync-accounts"] = {
    "task": "exchange_groups.tasks.sync_accounts",
    "schedule": PLATFORM_SYNC_INTERVAL,
}
CELERY_BEAT_SCHEDULE["check-drift"] = {
    "task": "exchange_groups.tasks.check_drift",
    "schedule": DRIFT_CHECK_INTERVAL,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- The mail server on the directory (deploy/postfix, exchange_groups/sending.py) ----------
# "Test sending" really sends through this SMTP server (port 0: only the simulation) and
# looks for the message in the Maildirs below MAIL_MAILDIR_ROOT (<domain>/<local part>/).
MAIL_SMTP_HOST = env_str("MAIL_SMTP_HOST", "127.0.0.1")
MAIL_SMTP_PORT = env_int("MAIL_SMTP_PORT", 0)
MAIL_MAILDIR_ROOT = env_str("MAIL_MAILDIR_ROOT", "")

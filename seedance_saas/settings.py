"""The one settings module: every value comes from the environment with a safe local default."""

import os
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from seedance_saas.observability import logs, sentry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    # Debug pages show settings, source and SQL to anyone who triggers an error.
    raise ImproperlyConfigured(
        "DEBUG must be off when DJANGO_ENV=production: unset DEBUG (or set DEBUG=0), "
        "or use DJANGO_ENV=development on a machine nobody else can reach."
    )
# pytest (8.2+) exports PYTEST_VERSION for the whole session.
TESTING = "PYTEST_VERSION" in os.environ

_DEV_SECRET_KEY = "django-insecure-local-development-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION or not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production or DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "seedance_saas.admin_site.OperationsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served from our static, not a CDN (CSP: script-src 'self')
    "django_htmx",
    "seedance_saas.apps.SeedanceConfig",
    "seedance_saas.cache_tables",  # `migrate` creates the database cache's table
    "accounts",
    "billing",
    "webhooks",
    "generations",
    "provider_simulator",  # a stand-in for the provider (its `eachlabs_simulator` command); no models
    "storyboards",
    # After generations, whose `qcluster` command (django-q2's plus the ticker) must win over django-q2's own.
    "django_q",
]

MIDDLEWARE = [
    # First, so a request's time includes every other middleware (seedance_saas/metrics.py).
    "seedance_saas.metrics.RequestLatencyMiddleware",
    # Then every later line logged for the request carries its request_id, and every answer sends it back.
    "seedance_saas.observability.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A view that meets a database or cache outage answers 503 with Retry-After (see also handler500).
    "seedance_saas.dependencies.DependencyUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the body (CSRF reads request.POST): oversized uploads answer 413 unread.
    "seedance_saas.upload_middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.tenancy.ActiveOrganizationMiddleware",
]

ROOT_URLCONF = "seedance_saas.urls"
WSGI_APPLICATION = "seedance_saas.wsgi.application"
ASGI_APPLICATION = "seedance_saas.asgi.application"

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
                "accounts.tenancy.organization_context",
                "generations.provider_key_views.provider_key_banner",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE transactions
    # take the write lock up front so two writers queue on the busy timeout instead
    # of failing with "database is locked" when a read transaction upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and task queue -------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds a client is told to wait (Retry-After) when the database or the cache is down.
DEPENDENCY_RETRY_AFTER_S = env.int("DEPENDENCY_RETRY_AFTER_S", default=5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # An unreachable Redis fails fast instead of holding a web worker until the kernel gives up.
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT_S", default=1.0),
                "socket_timeout": env.float("REDIS_TIMEOUT_S", default=2.0),
            },
        }
    }
else:
    # A database cache is shared by the web server and every worker process, which
    # throttles and rate budgets need; local memory would be per process.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"}}

Q_CLUSTER = {
    "name": "seedance",
    "workers": env.int("Q_WORKERS", default=2),
    # A task a killed worker held is not waited for: every task is a hint over state kept in the database, and
    # the ticker hands it out again within seconds (GENERATION_POLL_LEASE_S, deliveries_requeue_lost). These two
    # only bound a stuck task (the Stripe drain may legitimately run minutes); retry must exceed timeout.
    "timeout": 300,
    "retry": 360,
    "max_attempts": 3,
    "save_limit": 1000,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,  # seconds between ORM-broker queue checks: task latency
    "label": "Django Q2",
    # Tests run tasks inline unless a test starts a real cluster with Q_SYNC=0.
    "sync": env.bool("Q_SYNC", default=TESTING),
    # Partner webhook sends have their own queue, served only by `Q_CLUSTER_NAME=webhooks manage.py qcluster`,
    # so a slow receiver can hold up other partners' webhooks at worst, never dispatch or polling.
    "ALT_CLUSTERS": {
        "webhooks": {
            "workers": env.int("Q_WEBHOOK_WORKERS", default=2),
            "timeout": 30,  # a send ends within WEBHOOKS_TIMEOUT_S; this only guards against a stuck worker
            "retry": 40,
            # Fetch no more than the workers can start: a stopping node finishes what it fetched (SIGTERM).
            "queue_limit": env.int("Q_WEBHOOK_WORKERS", default=2),
        },
    },
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth -----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "landing"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Seedance] "
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
# Successful sign-ups a day per client network (IPv4 /24, IPv6 /64) and per mailbox (accounts/emails.py); 0 = no cap.
SIGNUP_LIMIT_PER_NETWORK_PER_DAY = env.int("SIGNUP_LIMIT_PER_NETWORK_PER_DAY", default=5)
SIGNUP_LIMIT_PER_EMAIL_PER_DAY = env.int("SIGNUP_LIMIT_PER_EMAIL_PER_DAY", default=3)
LOGIN_FAILED_PER_ACCOUNT_PER_HOUR = env.int("LOGIN_FAILED_PER_ACCOUNT_PER_HOUR", default=100)
ACCOUNT_RATE_LIMITS = {
    # Per client IP, and per (email, client IP): see accounts/adapters.py. A stranger's failures never lock
    # the owner of an address out; only the per-address cap below, far above any honest typing, can.
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_account": f"{LOGIN_FAILED_PER_ACCOUNT_PER_HOUR}/h/key",
}

# Proxies in front of the app that append to X-Forwarded-For (0: ignore the header, use the TCP peer), or
# the header one trusted proxy sets to the client address (e.g. X-Real-IP). See seedance_saas/client_ip.py.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_CLIENT_IP_HEADER = env.str("TRUSTED_CLIENT_IP_HEADER", default="")

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Backends that never reach a mailbox: production refuses them unless EMAIL_ALLOW_CONSOLE=1 says it is on purpose.
_UNDELIVERED_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
EMAIL_ALLOW_CONSOLE = env.bool("EMAIL_ALLOW_CONSOLE", default=not PRODUCTION)
if PRODUCTION and EMAIL_BACKEND in _UNDELIVERED_EMAIL_BACKENDS and not EMAIL_ALLOW_CONSOLE:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND is {EMAIL_BACKEND} in production: sign-up, invitation and password-reset emails would "
        "reach nobody. Set EMAIL_BACKEND to a real backend (e.g. django.core.mail.backends.smtp.EmailBackend), "
        "or EMAIL_ALLOW_CONSOLE=1 on a staging machine where that is intended."
    )
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Seedance Studio <no-reply@localhost>")
# The SMTP backend's server (django.core.mail.backends.smtp.EmailBackend); a timeout so a dead server fails a task,
# not a worker.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Secret behind the stable upstream end_user_id (HMAC); keep it stable across deploys.
END_USER_ID_SECRET = env.str("END_USER_ID_SECRET", default=SECRET_KEY)
# After an end user is erased, new generations for their old id are refused this long (a partner's retry loop
# must not bring them back the next minute).
END_USER_ERASURE_REFUSAL_DAYS = env.int("END_USER_ERASURE_REFUSAL_DAYS", default=30)
# An export of at most this many generations is answered at once; a larger one is built by a task.
END_USER_EXPORT_INLINE_MAX = env.int("END_USER_EXPORT_INLINE_MAX", default=200)
# A larger export's file is deleted this long after it was asked for (the upkeep pass deletes it).
END_USER_EXPORT_TTL_S = env.int("END_USER_EXPORT_TTL_S", default=24 * 3600)

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.authentication.HasOrganization"],
    "DEFAULT_THROTTLE_CLASSES": ["seedance_saas.throttling.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "seedance_saas.uploads.LimitedMultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "seedance_saas.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    # For any stock DRF throttle; ours asks seedance_saas/client_ip.py.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Seedance Studio API",
    "DESCRIPTION": "Image-to-video generation with Seedance 2.0, billed per second.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Static and media -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if AWS_STORAGE_BUCKET_NAME:
    # django-storages reads AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ... from the environment.
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)

# --- Uploads --------------------------------------------------------------------
# The provider takes frames of at most 30 MB; a request carries at most two frames and a few small fields.
UPLOAD_MAX_FILE_BYTES = env.int("UPLOAD_MAX_FILE_BYTES", default=30 * 1024 * 1024)
UPLOAD_MAX_REQUEST_BYTES = env.int("UPLOAD_MAX_REQUEST_BYTES", default=2 * UPLOAD_MAX_FILE_BYTES + 1024 * 1024)
# Checked from the image header before a pixel is decoded; the decoded size stays bounded (16.8 MP x 4 bytes).
UPLOAD_IMAGE_MIN_SIDE_PX = env.int("UPLOAD_IMAGE_MIN_SIDE_PX", default=32)
UPLOAD_IMAGE_MAX_SIDE_PX = env.int("UPLOAD_IMAGE_MAX_SIDE_PX", default=6000)
UPLOAD_IMAGE_MAX_PIXELS = env.int("UPLOAD_IMAGE_MAX_PIXELS", default=4096 * 4096)
# The first handler counts bytes and stops a file past UPLOAD_MAX_FILE_BYTES while it streams in.
FILE_UPLOAD_HANDLERS = [
    "seedance_saas.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # files above this go to FILE_UPLOAD_TEMP_DIR, not memory
# Unset: the system's temporary directory. Django's checks refuse a directory that does not exist.
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None
# Bodies that are not multipart (JSON, forms) are read into memory whole: Django's 2.5 MB default.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=int(2.5 * 1024 * 1024))

# Media is only reached through signed links (generations/media_links.py), checked on every use. How long they live:
MEDIA_URL_TTL_S = env.int("MEDIA_URL_TTL_S", default=3600)  # pages and API answers
# Partner webhook payloads: a retry resends the same body, so its links must outlive the whole retry schedule.
MEDIA_WEBHOOK_URL_TTL_S = env.int("MEDIA_WEBHOOK_URL_TTL_S", default=48 * 3600)
# The provider fetches input frames while the job runs: keep this above GENERATION_DEADLINE_S.
MEDIA_PROVIDER_URL_TTL_S = env.int("MEDIA_PROVIDER_URL_TTL_S", default=3600)
# With S3, a checked link redirects to a presigned URL that lives this long (seconds).
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=3600)

# --- Provider (Eachlabs) --------------------------------------------------------
EACHLABS_API_KEY = env.str("EACHLABS_API_KEY", default="")
# With no key, the client talks to the in-process simulator.
EACHLABS_SIMULATED = not EACHLABS_API_KEY
EACHLABS_BASE_URL = env.str("EACHLABS_BASE_URL", default="https://api.eachlabs.ai/v1").rstrip("/")
# Production without a key would run the simulator and charge customers for fake clips: it refuses to start
# unless this says the simulator is intended (a staging or demo machine). It also mounts /simulator/outputs/.
EACHLABS_ALLOW_SIMULATOR = env.bool("EACHLABS_ALLOW_SIMULATOR", default=not PRODUCTION)
if PRODUCTION and EACHLABS_SIMULATED and not EACHLABS_ALLOW_SIMULATOR:
    raise ImproperlyConfigured(
        "EACHLABS_API_KEY is not set in production: every generation would run on the provider simulator and "
        "customers would pay for fake clips. Set EACHLABS_API_KEY, or EACHLABS_ALLOW_SIMULATOR=1 on a staging "
        "or demo machine where that is intended."
    )
# Provider keys are stored encrypted (Fernet). Comma-separated keys: the first encrypts, all decrypt, so a new
# key goes first and the old one stays until `rotate_provider_key_encryption` has run. DEBUG and tests derive
# one from SECRET_KEY (so does any machine outside DJANGO_ENV=production); production refuses to start without it.
PROVIDER_KEY_ENCRYPTION_KEYS = env.list("PROVIDER_KEY_ENCRYPTION_KEYS", default=[])
if not PROVIDER_KEY_ENCRYPTION_KEYS and PRODUCTION:
    raise ImproperlyConfigured(
        "PROVIDER_KEY_ENCRYPTION_KEYS must be set when DJANGO_ENV=production: provider keys are "
        "stored encrypted with it. Generate one with `python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'`."
    )
# A key that answered 429 below its configured in-flight limit probes one slot higher after this long.
PROVIDER_KEY_PROBE_INTERVAL_S = env.float("PROVIDER_KEY_PROBE_INTERVAL_S", default=600.0)
# With no key (and the default base URL) the client's httpx transport comes from this factory, called with
# api_base_url=...: the product names the simulator only here, never in an import.
EACHLABS_SIMULATOR_TRANSPORT = "provider_simulator.in_process_transport"
EACHLABS_SIMULATOR_LATENCY = env.float("EACHLABS_SIMULATOR_LATENCY", default=5.0)
# The simulator's shared state (SQLite) and rendered outputs; every process on the machine uses the same folder.
EACHLABS_SIMULATOR_DIR = env.path("EACHLABS_SIMULATOR_DIR", default=BASE_DIR / "var" / "eachlabs-simulator")
EACHLABS_SIMULATOR_FAILURE_RATE = env.float("EACHLABS_SIMULATOR_FAILURE_RATE", default=0.0)
EACHLABS_SIMULATOR_OUTPUT_RETENTION_S = env.float("EACHLABS_SIMULATOR_OUTPUT_RETENTION_S", default=3600.0)
EACHLABS_SIMULATOR_SEED = env.int("EACHLABS_SIMULATOR_SEED", default=None)
# A daemon thread per process sends the simulator's due webhooks; tests call deliver_webhooks() instead.
EACHLABS_SIMULATOR_BACKGROUND = env.bool("EACHLABS_SIMULATOR_BACKGROUND", default=not TESTING)
EACHLABS_CONNECT_TIMEOUT_S = env.float("EACHLABS_CONNECT_TIMEOUT_S", default=5.0)
EACHLABS_READ_TIMEOUT_S = env.float("EACHLABS_READ_TIMEOUT_S", default=30.0)
SEEDANCE_ENABLE_1080P = env.bool("SEEDANCE_ENABLE_1080P", default=False)
# Two resolution enums meet in the schema: every resolution a generation can show, and those this deployment
# accepts (no 1080p unless enabled). Named here, so the schema builds without a naming-collision warning.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {"ResolutionEnum": ["480p", "720p", "1080p"]}
if not SEEDANCE_ENABLE_1080P:
    SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["AcceptedResolutionEnum"] = ["480p", "720p"]

# --- Generation lifecycle (dispatch, polling, deadlines) ---------------------------
# The provider's limits per key, shared by every worker through the database.
EACHLABS_MAX_IN_FLIGHT = env.int("EACHLABS_MAX_IN_FLIGHT", default=10)
EACHLABS_MAX_CREATES_PER_MINUTE = env.int("EACHLABS_MAX_CREATES_PER_MINUTE", default=100)
EACHLABS_MAX_SUBMIT_ATTEMPTS = env.int("EACHLABS_MAX_SUBMIT_ATTEMPTS", default=5)
EACHLABS_BACKOFF_BASE_S = env.float("EACHLABS_BACKOFF_BASE_S", default=2.0)
EACHLABS_BACKOFF_MAX_S = env.float("EACHLABS_BACKOFF_MAX_S", default=300.0)
EACHLABS_DEFAULT_RETRY_AFTER_S = env.float("EACHLABS_DEFAULT_RETRY_AFTER_S", default=10.0)
# Before five jobs have finished, the poller assumes this processing time (the contract says ~220 s).
EACHLABS_EXPECTED_PROCESSING_S = env.float(
    "EACHLABS_EXPECTED_PROCESSING_S", default=EACHLABS_SIMULATOR_LATENCY if EACHLABS_SIMULATED else 220.0
)
EACHLABS_POLL_MIN_S = env.float("EACHLABS_POLL_MIN_S", default=3.0)
EACHLABS_POLL_MAX_S = env.float("EACHLABS_POLL_MAX_S", default=60.0)
# A lost provider webhook delays a job by at most about this much: one GET per job past its expected end.
EACHLABS_POLL_SAFETY_NET_S = env.float("EACHLABS_POLL_SAFETY_NET_S", default=10.0)
EACHLABS_WEBHOOK_HEALTHY_S = env.int("EACHLABS_WEBHOOK_HEALTHY_S", default=600)
GENERATION_DEADLINE_S = env.int("GENERATION_DEADLINE_S", default=30 * 60)
if MEDIA_PROVIDER_URL_TTL_S <= GENERATION_DEADLINE_S:
    raise ImproperlyConfigured(
        f"MEDIA_PROVIDER_URL_TTL_S ({MEDIA_PROVIDER_URL_TTL_S} s) must be longer than GENERATION_DEADLINE_S "
        f"({GENERATION_DEADLINE_S} s): the provider fetches a job's frames through that link while the job runs."
    )
GENERATION_SUBMITTING_STUCK_S = env.int("GENERATION_SUBMITTING_STUCK_S", default=120)
GENERATION_MAX_VIDEO_BYTES = env.int("GENERATION_MAX_VIDEO_BYTES", default=512 * 1024 * 1024)
GENERATION_TICK_INTERVAL_S = env.float("GENERATION_TICK_INTERVAL_S", default=1.0)
# The ticker's lease (generations/ticker.py): a killed leader's lease runs out this fast and another node takes over.
GENERATION_TICKER_LEASE_S = env.float("GENERATION_TICKER_LEASE_S", default=5.0)
# A poll handed to a worker is leased this long: if the worker dies with it, the next pass hands it out again.
GENERATION_POLL_LEASE_S = env.float("GENERATION_POLL_LEASE_S", default=5.0)
# Fair shares and queue estimates (README "Fair shares and queue estimates").
GENERATION_END_USER_MAX_SHARE = env.int("GENERATION_END_USER_MAX_SHARE", default=50)
GENERATION_ETA_CACHE_S = env.float("GENERATION_ETA_CACHE_S", default=5.0)
GENERATION_ETA_MAX_QUEUED = env.int("GENERATION_ETA_MAX_QUEUED", default=1000)
GENERATION_ETA_ARRIVALS_WINDOW_S = env.int("GENERATION_ETA_ARRIVALS_WINDOW_S", default=900)
GENERATION_ETA_SAMPLES = env.int("GENERATION_ETA_SAMPLES", default=15)
GENERATION_ETA_HORIZON_S = env.int("GENERATION_ETA_HORIZON_S", default=24 * 3600)

# --- Health, readiness and metrics (seedance_saas/health.py, seedance_saas/metrics.py) ---------
# /readyz fails when one of these fails; each check is a django-health-check class run in the request thread.
READYZ_CHECKS = [
    "seedance_saas.health.Database",
    "seedance_saas.health.Cache",
    "seedance_saas.health.QueueBroker",
    "seedance_saas.health.MediaStorage",
    "seedance_saas.health.WorkerHeartbeat",
    "generations.health.TickerAlive",
    "generations.health.QueueAge",
    "generations.health.ProviderKey",
]
# The heartbeat schedule runs every minute and django-q2 checks schedules every 30 s: up to ~90 s apart.
READYZ_WORKER_HEARTBEAT_MAX_AGE_S = env.int("READYZ_WORKER_HEARTBEAT_MAX_AGE_S", default=180)
READYZ_TICKER_MAX_AGE_S = env.int("READYZ_TICKER_MAX_AGE_S", default=120)
READYZ_QUEUE_MAX_AGE_S = env.int("READYZ_QUEUE_MAX_AGE_S", default=900)
# Probes and the scraper call the app directly over HTTP: a redirect to HTTPS would read as success (or fail them).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics answers a bearer token or a client in these networks (client address: seedance_saas/client_ip.py);
# with neither set it answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# Lags (queued -> submitting, provider done -> succeeded) are summarized over this recent window.
METRICS_LAG_WINDOW_S = env.int("METRICS_LAG_WINDOW_S", default=900)

# --- Billing (Stripe) -----------------------------------------------------------
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# The signing secret of the thin-event destination (v1.billing.meter.error_report_triggered).
STRIPE_THIN_WEBHOOK_SECRET = env.str("STRIPE_THIN_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_S = env.float("STRIPE_TIMEOUT_S", default=20.0)
# Threads the usage drain sends meter events on; tests run it inline (their data is in an open transaction).
STRIPE_DRAIN_WORKERS = env.int("STRIPE_DRAIN_WORKERS", default=1 if TESTING else 8)
TRIAL_CREDIT_USD = Decimal(env.str("TRIAL_CREDIT_USD", default="5"))

# --- Partner webhooks -----------------------------------------------------------
# Seconds between a failed attempt and the next one (about a day in all).
WEBHOOKS_RETRY_SCHEDULE_S = env.list(
    "WEBHOOKS_RETRY_SCHEDULE_S", cast=int, default=[5, 300, 1800, 7200, 18000, 36000, 36000]
)
_WEBHOOK_RETRIES_S = sum(WEBHOOKS_RETRY_SCHEDULE_S)
if _WEBHOOK_RETRIES_S >= MEDIA_WEBHOOK_URL_TTL_S:
    raise ImproperlyConfigured(
        f"MEDIA_WEBHOOK_URL_TTL_S ({MEDIA_WEBHOOK_URL_TTL_S} s) must be longer than the whole "
        f"WEBHOOKS_RETRY_SCHEDULE_S ({_WEBHOOK_RETRIES_S} s): the last retry resends the first body's links."
    )
# One deadline for the whole send (DNS, connect, TLS, request, answer), not per read.
WEBHOOKS_TIMEOUT_S = env.float("WEBHOOKS_TIMEOUT_S", default=10.0)
# How much of a receiver's answer is read (the rest is never downloaded; the log keeps 500 characters).
WEBHOOKS_MAX_RESPONSE_BYTES = env.int("WEBHOOKS_MAX_RESPONSE_BYTES", default=4096)
# An endpoint whose deliveries all fail for this long, or this many times in a row, is disabled.
WEBHOOKS_DISABLE_AFTER_HOURS = env.float("WEBHOOKS_DISABLE_AFTER_HOURS", default=24.0)
WEBHOOKS_DISABLE_AFTER_FAILURES = env.int("WEBHOOKS_DISABLE_AFTER_FAILURES", default=100)
# http://127.0.0.1 endpoints (tests, local development); otherwise HTTPS to public hosts only.
WEBHOOKS_ALLOW_HTTP_LOCALHOST = env.bool("WEBHOOKS_ALLOW_HTTP_LOCALHOST", default=DEBUG)

# --- Partner API limits ---------------------------------------------------------
API_CREATE_RATE_PER_MINUTE = env.int("API_CREATE_RATE_PER_MINUTE", default=60)
API_READ_RATE_PER_MINUTE = env.int("API_READ_RATE_PER_MINUTE", default=600)
API_ANONYMOUS_RATE_PER_MINUTE = env.int("API_ANONYMOUS_RATE_PER_MINUTE", default=60)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
# Seconds an API key lookup is cached (revocation still takes effect at once; 0 turns the cache off).
API_KEY_CACHE_TTL_S = env.int("API_KEY_CACHE_TTL_S", default=30)
# The organization's unfinished-generation count in the rate-limit fields is a hint: counted at most this often
# (a create forgets it at once), so a read costs no extra query.
API_CONCURRENCY_COUNT_CACHE_S = env.int("API_CONCURRENCY_COUNT_CACHE_S", default=2)

# --- Content-Security-Policy (django-csp) -----------------------------------------------
# Scripts and styles only from our own static files: no inline <script>, on* handler or style="" runs or applies.
# Media answers carry their own stricter policy (seedance_saas/media.py); the API docs relax theirs (api_urls.py).
# CSP_MEDIA_ORIGINS: where images and videos may also come from, e.g. the S3 origin our media links redirect to.
CSP_MEDIA_ORIGINS = env.list("CSP_MEDIA_ORIGINS", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "blob:", *CSP_MEDIA_ORIGINS],  # blob: the new-video form's preview of the chosen frame
        "media-src": [SELF, *CSP_MEDIA_ORIGINS],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}

# --- Internationalization ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security (production) --------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logs ---------------------------------------------------------------------------
# One JSON object a line in production (or with LOG_FORMAT=json); readable lines in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'console', not {LOG_FORMAT!r}.")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = logs.logging_config(json=LOG_FORMAT == "json", level=LOG_LEVEL)
logs.configure_structlog()

# --- Errors (Sentry) ---------------------------------------------------------------------
# Set: exceptions in web requests and django-q2 tasks go to Sentry, tagged with request, organization,
# generation and task ids, without personal data (seedance_saas/observability/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default=DJANGO_ENV)
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    sentry.sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

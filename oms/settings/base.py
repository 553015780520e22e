"""Settings shared by every mode. Everything that differs between machines comes from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("OMS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
# Hosts a channel account's base_url may point a vendor SDK at instead of the vendor's real
# address (integrations/endpoints.py). Empty: none, every account talks to the real vendor.
# Development and tests allow any ("*"); production only an explicit list of hosts.
VENDOR_BASE_URL_HOSTS = env_list("VENDOR_BASE_URL_HOSTS")

INSTALLED_APPS = [
    # The admin's theme (docs/admin.md): before django.contrib.admin so its templates win.
    "unfold",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "oms",
    "inventory",
    "orders",
    "fulfillment",
    "returns",
    "integrations",
    "workspace",
    "notifications",
    # staff sign-in security (docs/security.md): a second factor and lockout after failures;
    # oms.security after the two, its admin replaces theirs
    "django_otp",
    "oms.security.apps.SecondFactorDevicesConfig",  # django_otp.plugins.otp_totp
    "oms.security.apps.SignInLockoutConfig",  # axes
    "oms.security",
]

MIDDLEWARE = [
    "oms.core.request_id.RequestIdMiddleware",
    "oms.core.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # staff sign-in security: which device verified this session, every staff page asks for
    # it (oms/security/middleware.py), and the "account locked" page (axes)
    "django_otp.middleware.OTPMiddleware",
    "oms.security.middleware.SecondFactorMiddleware",
    "axes.middleware.AxesMiddleware",
    "oms.core.tenancy.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "oms.urls"
WSGI_APPLICATION = "oms.wsgi.application"
ASGI_APPLICATION = "oms.asgi.application"

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
                "oms.core.tenancy.memberships_context",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "oms.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}")
# Seconds a connection is kept for the next request or task: 0 (one per request) in development
# and tests; production (prod.py) keeps them 60 s by default, the embedded stack's worker 600 s
# (scripts/run_dev.sh).
DB_CONN_MAX_AGE = int(os.environ.get("DB_CONN_MAX_AGE", "0"))
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside one writer; IMMEDIATE takes the write lock when a
    # transaction begins, so two workers never deadlock upgrading a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's, grouping by every column of a table whose primary key is (tenant_id, id)
        DATABASES["default"]["ENGINE"] = "oms.core.postgresql"
# A kept connection used less than this many seconds ago is not pinged before its next use
# (oms/core/postgresql/base.py); 0: pinged before every request's first use, as Django does.
DB_HEALTH_CHECK_AFTER_IDLE = float(os.environ.get("DB_HEALTH_CHECK_AFTER_IDLE", "1"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
LOGIN_URL = "admin:login"

# --- admin theme (django-unfold, docs/admin.md) ----------------------------------------------
# Every asset comes from the package or static/: no CDN. The sidebar is built per request from
# what the signed-in role may see (oms/core/admin_navigation.py).
# The theme's sign-in form sends no "next": signed in from /admin/login/ itself, staff land on the
# admin's home, not on Django's default /accounts/profile/.
LOGIN_REDIRECT_URL = "admin:index"
UNFOLD = {
    "SITE_TITLE": "OMS",
    "SITE_HEADER": "OMS",
    "SITE_SYMBOL": "inventory_2",
    "SITE_SUBHEADER": "oms.core.admin_navigation.tenant_name",
    "SITE_URL": None,
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "BORDER_RADIUS": "6px",
    "STYLES": ["oms.core.admin_navigation.stylesheet"],
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": "oms.core.admin_navigation.sidebar",
    },
}

# --- staff sign-in security (oms/security, docs/security.md) ------------------------------
# axes checks a sign-in is not locked out before Django checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout: after AXES_FAILURE_LIMIT failed sign-ins (wrong password or wrong second-factor code)
# within the cool-off, the account is locked for the cool-off, counted from the last failure.
AXES_FAILURE_LIMIT = int(os.environ.get("OMS_SIGNIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("OMS_SIGNIN_COOLOFF_MINUTES", "15")))
# What is locked: "username" (default: the account, from every address), "username+ip_address"
# (the account from the address that failed), or both apart, comma-separated.
AXES_LOCKOUT_PARAMETERS = [
    part.split("+") if "+" in part else part for part in env_list("OMS_SIGNIN_LOCKOUT_BY", "username")
]
# axes warns when the address is not among them; by the account alone, failures from every
# address and browser count toward its lock, which is what the warning asks for.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# A right password does not forget earlier failures (wrong codes after it must still add up);
# a verified second factor does (oms/security/views.py), and the cool-off does.
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # "try again after N minutes" holds
AXES_LOCKOUT_CALLABLE = "oms.security.lockout.lockout_response"
# The client's address behind this many proxies of ours (X-Forwarded-For), else REMOTE_ADDR.
OMS_TRUSTED_PROXY_COUNT = int(os.environ.get("OMS_TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "oms.security.lockout.client_ip"
AXES_ENABLE_ADMIN = False  # oms/security/admin.py shows the tenant's staff only
AXES_VERBOSE = False
# Second factor: owners, managers and superusers must enrol; anyone with a device verifies it.
OMS_OTP_REQUIRED_ROLES = env_list("OMS_OTP_REQUIRED_ROLES", "owner,manager")
OMS_OTP_REQUIRED_FOR_SUPERUSERS = True
OTP_TOTP_ISSUER = os.environ.get("OMS_OTP_ISSUER", "OMS")

# --- REST API ---------------------------------------------------------------------------
# The largest request body read into memory (Django's default, stated): an API body over it
# answers 413 (oms.core.middleware). Orders carry at most 500 lines, far below it; file
# uploads (admin imports) are limited by FILE_UPLOAD_MAX_MEMORY_SIZE instead.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440))
# Every tenant's API requests together, unless the tenant has its own rate (Tenant.api_rate).
API_RATE_PER_TENANT = os.environ.get("API_RATE_PER_TENANT", "12000/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oms.core.auth.ApiKeyAuthentication",
        "oms.core.auth.TenantSessionAuthentication",
    ],
    # Every view declares its capability (oms.core.permissions.requires); one that forgets is closed.
    "DEFAULT_PERMISSION_CLASSES": ["oms.core.permissions.NoCapabilityDeclared"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["oms.core.api.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "oms.core.api.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "oms.core.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "oms.core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {"api_key": os.environ.get("API_RATE_LIMIT", "6000/min")},
    "DEFAULT_THROTTLE_CLASSES": ["oms.core.throttling.ApiKeyThrottle", "oms.core.throttling.TenantThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS storefront API",
    "DESCRIPTION": "Orders, stock, reservations and returns for a merchant's storefront.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # `<id:…>` path parameters (oms.core.api.IdConverter): at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}},
    # Enums named after what they are, not after the field ("state" is the name of many).
    "ENUM_NAME_OVERRIDES": {
        "ShipmentStateEnum": "fulfillment.states.ShipmentState",
        "LabelStateEnum": "fulfillment.states.LabelState",
        "ReturnReasonEnum": "returns.states.ReturnReason",
    },
    # The docs page's assets come from a package, not a CDN: it works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Summaries and descriptions for storefront developers (oms/api_docs.py), not the views' docstrings.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "oms.core.schema.api_docs_postprocess",
    ],
}

# --- caches -----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Django's Redis cache, one client per connection pool (oms/core/cache.py)
    CACHES = {"default": {"BACKEND": "oms.core.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: messages are files under var/, no server needed.
    for sub in ("queue", "processed"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # kombu looks at the folder again this long after finding nothing it could take (also
        # when the worker's slots were full): its 1 s default caps a busy worker near 1 task/s.
        "polling_interval": 0.1,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
# The longest a task may run: at the soft limit it gets SoftTimeLimitExceeded (its transaction
# rolls back), at the hard limit the pool kills it. This makes "the longest task" a real bound.
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "270"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "300"))
# How long a message taken by a worker that died (SIGKILL, OOM, lost host) waits in Redis's
# "unacked" set before another worker puts it back on its queue. A live worker holds a message
# (acks_late) for at most the hard time limit, or until a retry's countdown is due (a retry is a
# new message the worker holds until its ETA; our longest backoff is 32 s): the timeout must be
# above their sum, or a second worker runs a task the first is still running (the config test
# checks it for every task). Lower means a killed worker's tasks come back sooner. kombu: an hour.
CELERY_BROKER_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_BROKER_VISIBILITY_TIMEOUT", "600"))
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # (oms/celery.py makes redis:// URLs use oms/core/broker.py: it survives Redis dropping.)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
        # Every worker looks for such messages every 10 s (kombu's default: every 100 s), so one
        # is back on its queue at most visibility_timeout + 10 s after its worker died.
        "unacked_restore_interval": max(1, min(10, CELERY_BROKER_VISIBILITY_TIMEOUT // 10)),
        "unacked_restore_throttle": 1,
        # The lock around that scan outlives a worker killed while holding it by this much.
        "unacked_mutex_expire": max(1, min(60, CELERY_BROKER_VISIBILITY_TIMEOUT // 2)),
        # Notice a broker that went away instead of waiting on a dead socket.
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
    }
# A worker that lost the broker keeps trying to reconnect (Celery's default gives up after
# 100 attempts and exits); /health reports the broker and the workers meanwhile.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_QUEUES_ALL = ["default", "ingest", "allocation", "labels", "sync", "notifications"]
# Every pattern names tasks that exist (tests/oms/test_celery_config.py): labels and sync get
# their routes with their first tasks.
CELERY_TASK_ROUTES = {
    "integrations.*": {"queue": "ingest"},
    "inventory.*": {"queue": "allocation"},
    "orders.tasks.order_allocate*": {"queue": "allocation"},
    "orders.tasks.orders_allocate*": {"queue": "allocation"},
    "fulfillment.tasks.label_*": {"queue": "labels"},
    # Customer emails and merchants' outbound webhooks wait on outside servers: their own
    # workers, so a slow merchant endpoint never holds up an allocation or a label.
    "notifications.*": {"queue": "notifications"},
}
# --- fair queues between tenants (oms/core/fairness.py) ---------------------------------
# Past this many of its tasks waiting or running at normal priority, a tenant's next ones go at
# low broker priority: behind every other tenant's.
TASK_FAIRNESS = env_bool("TASK_FAIRNESS", True)
TASK_QUEUED_PER_TENANT = int(os.environ.get("TASK_QUEUED_PER_TENANT", "10"))
# Straight to PostgreSQL even when DATABASE_URL goes through a transaction pooler (PgBouncer):
# beat's schedule lock (oms/celery.py) is a session lock, and migrations run here.
DATABASE_DIRECT_URL = os.environ.get("DATABASE_DIRECT_URL") or DATABASE_URL
# The outbox relay (oms/core/outbox.py) runs this often as the safety net behind the on-commit
# kick; a relay task older than two periods is dropped rather than run late (the next one comes).
OUTBOX_RELAY_SECONDS = float(os.environ.get("OMS_OUTBOX_RELAY_SECONDS", "5"))
OUTBOX_RETENTION_DAYS = int(os.environ.get("OMS_OUTBOX_RETENTION_DAYS", "7"))
# On PostgreSQL the on-commit kick hands the committed rows to a relay thread in each process,
# which publishes the rows of many requests per batch, off the request path (0: relay inline).
OUTBOX_RELAY_THREAD = env_bool("OMS_OUTBOX_RELAY_THREAD", True)
# API keys read from the cache (oms/core/auth.py): "auto" when the cache is shared (Redis), "on", "off".
API_KEY_CACHE = os.environ.get("OMS_API_KEY_CACHE", "auto")
BACKORDERS_SWEEP_SECONDS = float(os.environ.get("OMS_BACKORDERS_SWEEP_SECONDS", "300"))
# Tenants with auto_pick_lists get their pending shipments batched into pick lists this often.
PICK_LISTS_AUTO_SECONDS = float(os.environ.get("OMS_PICK_LISTS_AUTO_SECONDS", "300"))
TRACKING_POLL_SECONDS = float(os.environ.get("OMS_TRACKING_POLL_SECONDS", "900"))
# Stock published to marketplaces: changes within this window go out together (integrations/publishing.py).
STOCK_PUBLISH_SECONDS = float(os.environ.get("OMS_STOCK_PUBLISH_SECONDS", "30"))
# How often beat looks for polled marketplace accounts (Amazon, eBay) whose poll interval passed.
POLL_SWEEP_SECONDS = float(os.environ.get("OMS_POLL_SWEEP_SECONDS", "30"))
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "outbox-relay": {
        "task": "oms.tasks.outbox_relay_task",
        "schedule": OUTBOX_RELAY_SECONDS,
        "options": {"expires": OUTBOX_RELAY_SECONDS * 2},
    },
    "outbox-purge": {
        "task": "oms.tasks.outbox_purge_task",
        "schedule": 3600.0,
    },
    "orders-backorders-sweep": {
        "task": "orders.tasks.orders_backorders_sweep_task",
        "schedule": BACKORDERS_SWEEP_SECONDS,
        "options": {"expires": BACKORDERS_SWEEP_SECONDS},
    },
    "fulfillment-pick-lists-auto": {
        "task": "fulfillment.tasks.pick_lists_auto_create_task",
        "schedule": PICK_LISTS_AUTO_SECONDS,
        "options": {"expires": PICK_LISTS_AUTO_SECONDS},
    },
    "fulfillment-tracking-poll-quiet": {
        "task": "fulfillment.tasks.tracking_poll_quiet_task",
        "schedule": TRACKING_POLL_SECONDS,
        "options": {"expires": TRACKING_POLL_SECONDS},
    },
    "integrations-stock-publish": {
        "task": "integrations.tasks.channel_stock_publish_all_task",
        "schedule": STOCK_PUBLISH_SECONDS,
        "options": {"expires": STOCK_PUBLISH_SECONDS},
    },
    "integrations-polls-due": {
        "task": "integrations.tasks.channel_polls_due_task",
        "schedule": POLL_SWEEP_SECONDS,
        "options": {"expires": POLL_SWEEP_SECONDS},
    },
    "inventory-reservations-expire": {
        "task": "inventory.tasks.reservations_expire_task",
        "schedule": 60.0,
    },
    "payments-reauthorize-expiring": {
        "task": "orders.tasks.payments_reauthorize_expiring_task",
        "schedule": 3600.0,
    },
    "payments-release-cancelled": {
        "task": "orders.tasks.payments_release_cancelled_task",
        "schedule": 900.0,
    },
    "idempotency-records-purge": {
        "task": "oms.tasks.idempotency_records_purge_task",
        "schedule": 3600.0,
    },
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- health (GET /health answers 503 with its reasons past these) ---------------------------
# Every consuming worker refreshes its heartbeat row this often (oms/workers.py)...
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "10"))
# ...and counts as gone when it has not for this long. Every queue needs a live worker.
HEALTH_WORKER_STALE_SECONDS = float(os.environ.get("HEALTH_WORKER_STALE_SECONDS", "60"))
# The oldest message waiting on a queue, and the oldest outbox row not yet handed to the broker.
HEALTH_QUEUE_MAX_AGE_SECONDS = float(os.environ.get("HEALTH_QUEUE_MAX_AGE_SECONDS", "300"))
HEALTH_OUTBOX_MAX_AGE_SECONDS = float(os.environ.get("HEALTH_OUTBOX_MAX_AGE_SECONDS", "300"))

# --- payments ---------------------------------------------------------------------------
# The sandbox gateway approves any card. Development and tests allow it for every tenant;
# production settings never do (there only a tenant whose payment_gateway is "sandbox" uses it).
PAYMENT_SANDBOX_ALLOWED = False  # a setting of each mode, not of the environment

# --- notifications and outbound webhooks (notifications/, docs/webhooks-outbound.md) -----------
OMS_WEBHOOKS_CONNECT_TIMEOUT = float(os.environ.get("OMS_WEBHOOKS_CONNECT_TIMEOUT", "3"))
OMS_WEBHOOKS_READ_TIMEOUT = float(os.environ.get("OMS_WEBHOOKS_READ_TIMEOUT", "10"))
# Endpoints naming localhost or a private address literally are refused unless this is on.
OMS_WEBHOOKS_ALLOW_PRIVATE_HOSTS = env_bool("OMS_WEBHOOKS_ALLOW_PRIVATE_HOSTS", False)

# --- logging ----------------------------------------------------------------------------
# LOG_FORMAT "plain" (development and tests: a line of text on stderr) or "json" (production's
# default, oms.settings.prod: one JSON object per line on stdout, oms/core/jsonlog.py). Both
# carry the request id; in a task, the task's name and id too. The secrets filters apply to both.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")


def logging_config(log_format: str) -> dict[str, object]:
    if log_format not in ("plain", "json"):
        raise ValueError(f"LOG_FORMAT must be 'plain' or 'json', not {log_format!r}")
    console: dict[str, object] = {
        "class": "logging.StreamHandler",
        "filters": ["request_id"],
        "formatter": log_format,
    }
    if log_format == "json":
        console["stream"] = "ext://sys.stdout"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "oms.core.request_id.RequestIdLogFilter"},
            # Secrets stay out of the logs at every level (oms/core/logsafe.py).
            "vendor_payloads": {"()": "oms.core.logsafe.VendorPayloadFilter"},
            "webhook_tokens": {"()": "oms.core.logsafe.WebhookTokenFilter"},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s] %(message)s"},
            "json": {"()": "oms.core.jsonlog.JsonLogFormatter"},
        },
        "handlers": {"console": console},
        "root": {"handlers": ["console"], "level": LOG_LEVEL},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "django.request": {"filters": ["webhook_tokens"]},
            "stripe": {"filters": ["vendor_payloads"]},
        },
    }


LOGGING = logging_config(LOG_FORMAT)
# A worker logs through the handler above (Celery would replace the root logger's handlers).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- metrics (GET /metrics, oms/metrics/, docs/deploy.md) --------------------------------------
# Every web worker and Celery pool process writes its counters into this directory and a scrape
# adds them up: one per node, emptied when the node starts (before its processes). It must be
# set before prometheus_client is imported, so it is put in the environment here.
PROMETHEUS_MULTIPROC_DIR = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or VAR_DIR / "metrics")
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)
# A scrape must send `Authorization: Bearer <METRICS_TOKEN>`. Without a token, only a client on
# this host (127.0.0.1 or ::1, no X-Forwarded-For) may scrape, and in production nobody may.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_LOOPBACK_WITHOUT_TOKEN = True
# Orders placed are counted by channel: these by name, any other as "other" (a storefront may
# name its own channel; the label's values must stay few).
METRICS_ORDER_CHANNELS = env_list(
    "METRICS_ORDER_CHANNELS", "api,web,shopify,woocommerce,amazon,ebay,exchange"
)

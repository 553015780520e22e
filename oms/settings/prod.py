"""Production: refuses to start without a real secret and an encryption key."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool, env_list

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production")
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
if not FIELD_ENCRYPTION_KEY:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set in production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
VENDOR_BASE_URL_HOSTS = env_list("VENDOR_BASE_URL_HOSTS")
if "*" in VENDOR_BASE_URL_HOSTS:
    raise ImproperlyConfigured("VENDOR_BASE_URL_HOSTS must name hosts in production, not '*'")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")

# Database connections are kept between requests and between tasks (opening one costs a TCP
# and TLS handshake and authentication, often more than the query), for DB_CONN_MAX_AGE seconds
# (default 60; 0: one connection per request), and checked before reuse: a connection the
# database or a proxy closed meanwhile is replaced instead of failing the request.
DB_CONN_MAX_AGE = int(os.environ.get("DB_CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_MAX_AGE"] = DB_CONN_MAX_AGE  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405

# DB_POOLER=transaction: DATABASE_URL goes through a pooler in transaction mode (PgBouncer's
# pool_mode = transaction), where consecutive transactions of one client may run on different
# server connections. Nothing may outlive a transaction there: no server-side prepared
# statements (psycopg prepares a query run 5 times; PgBouncer 1.18 cannot route them), no
# server-side cursors (a named cursor lives on one server connection across fetches). The code
# keeps no other session state: no session advisory locks (beat's lock goes straight to
# PostgreSQL, DATABASE_DIRECT_URL), no SET outside SET LOCAL, no LISTEN, no temporary tables.
# Django's own SET TIME ZONE is a parameter PgBouncer tracks per client. Migrations run with
# DATABASE_URL set to DATABASE_DIRECT_URL (deploy/layout.py does).
DB_POOLER = os.environ.get("DB_POOLER", "")
if DB_POOLER not in ("", "session", "transaction"):
    raise ImproperlyConfigured("DB_POOLER must be empty, 'session' or 'transaction'")
if DB_POOLER == "transaction":
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None  # noqa: F405
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True  # noqa: F405

# Mail (customer emails, staff invitations): an SMTP server, or another backend (console: stdout).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# The sandbox gateway approves any card: never for every tenant in production, whatever the
# environment says; a tenant explicitly in sandbox mode (payment_gateway "sandbox") still may.
PAYMENT_SANDBOX_ALLOWED = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# A live worker holds a message for up to the hard time limit (plus a retry's countdown): a
# visibility timeout below that makes a second worker run a task the first is still running.
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT + 60:  # noqa: F405
    raise ImproperlyConfigured(
        "CELERY_BROKER_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT by more than 60 s"
    )

# Operations (docs/deploy.md, "Health and metrics"): logs are JSON lines on stdout unless
# LOG_FORMAT says otherwise; /metrics answers only a scrape with METRICS_TOKEN (none set: nobody);
# the orchestrator's probes and the scraper may speak plain HTTP inside the cluster.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING = logging_config(LOG_FORMAT)  # noqa: F405
METRICS_LOOPBACK_WITHOUT_TOKEN = False
SECURE_REDIRECT_EXEMPT = [r"^health(/live|/ready)?$", r"^metrics$"]

"""The test suite: the same settings as development, made fast and deterministic."""

import os

os.environ.setdefault("DEBUG", "0")

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env_bool

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY") or "test-only-key-0123456789abcdefghijklmnopqrstuvwxyz"
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY") or "test-field-key"
VENDOR_BASE_URL_HOSTS = ["*"]  # accounts point at localstripe and other local fakes
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run in-process, unless a test starts a real worker (tests/e2e/worker.py sets this to 0).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
CELERY_TASK_EAGER_PROPAGATES = True
# A broker test sees its rows sent when the commit returns; tests of the relay thread turn it on.
OUTBOX_RELAY_THREAD = env_bool("OMS_OUTBOX_RELAY_THREAD", False)
PAYMENT_SANDBOX_ALLOWED = True
# Raise when a transaction locks stock rows out of the house order (inventory/locks.py).
OMS_LOCK_ORDER_CHECK = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that worker processes started by the e2e tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

# A tests-only room built like the next ones (tests/tenant_probe): the tenant wall reaches it.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.tenant_probe"]  # noqa: F405

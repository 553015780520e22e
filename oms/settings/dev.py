"""A newcomer's laptop: DEBUG on, SQLite, the embedded broker, sandbox vendors."""

import os

os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: F403
from .base import SECRET_KEY as _SECRET_KEY

SECRET_KEY = _SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production"
FIELD_ENCRYPTION_KEY = FIELD_ENCRYPTION_KEY or "dev-only-field-key"  # noqa: F405
VENDOR_BASE_URL_HOSTS = ["*"]  # sandboxes and local fakes
PAYMENT_SANDBOX_ALLOWED = True  # the demo shop pays through the sandbox

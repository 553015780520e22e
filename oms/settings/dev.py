"""A newcomer's laptop: DEBUG on, SQLite, the embedded broker, sandbox vendors."""

import os

os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: F403
from .base import SECRET_KEY as _SECRET_KEY

SECRET_KEY = _SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production"
FIELD_ENCRYPTION_KEY = FIELD_ENCRYPTION_KEY or "dev-only-field-key"  # noqa: F405
VENDOR_BASE_URL_HOSTS = ["*"]  # sandboxes and local fakes
PAYMENT_SANDBOX_ALLOWED = True  # the demo shop pays through the sandbox
# Staff sign-in (docs/security.md): on a laptop nobody must enrol a second factor unless
# OMS_OTP_REQUIRED_ROLES names roles (then superusers must too); whoever enrols verifies.
# Production and the tests require owners, managers and superusers to enrol.
OMS_OTP_REQUIRED_ROLES = env_list("OMS_OTP_REQUIRED_ROLES", "")  # noqa: F405
OMS_OTP_REQUIRED_FOR_SUPERUSERS = bool(OMS_OTP_REQUIRED_ROLES)

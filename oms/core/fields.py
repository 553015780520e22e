"""Secret fields: a text field encrypted at rest, and which fields of a model count as secret.

`EncryptedTextField` is encrypted with FIELD_ENCRYPTION_KEY (comma-separated keys rotate: the
first encrypts). Every such field is secret, and so is any field a model names in its
`SECRET_FIELDS` list (a secret that must stay searchable, such as a webhook URL token). The
audit records a secret only as "changed" (`oms.core.audit`); nothing else may show it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "fernet:"
SECRET_CHANGED = "changed"  # what the audit records in place of a secret's value


def _fernet() -> MultiFernet:
    raw = getattr(settings, "FIELD_ENCRYPTION_KEY", "")
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not set")
    return MultiFernet([Fernet(base64.urlsafe_b64encode(hashlib.sha256(k.encode()).digest())) for k in keys])


def encrypt(value: str) -> str:
    return _PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(_PREFIX):
        return value
    try:
        return _fernet().decrypt(value[len(_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY") from exc


class EncryptedTextField(models.TextField):
    secret = True

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


def secret_field_names(model: type[models.Model] | models.Model) -> frozenset[str]:
    """The names (and attnames) of `model`'s secret fields: encrypted ones, and its SECRET_FIELDS."""
    names = set(getattr(model, "SECRET_FIELDS", ()))
    for field in model._meta.concrete_fields:
        if getattr(field, "secret", False) or field.name in names:
            names.update((field.name, field.attname))
    return frozenset(names)

"""The database backend named in settings.DATABASES when DATABASE_URL is PostgreSQL."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, features


def has_tenant_primary_key(model: Any) -> bool:
    """A table whose primary key is (tenant_id, id) on PostgreSQL: a tenant-owned one.

    Read off the model's fields, not oms.core.models: the backend loads before the app registry.
    """
    opts = model._meta
    return any(f.name == "tenant" and f.null is False for f in opts.local_concrete_fields)


class DatabaseFeatures(features.DatabaseFeatures):
    def allows_group_by_selected_pks_on_model(self, model: Any) -> bool:
        return super().allows_group_by_selected_pks_on_model(model) and not has_tenant_primary_key(model)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures

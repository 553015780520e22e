"""The database backend named in settings.DATABASES when DATABASE_URL is PostgreSQL.

Two changes to Django's: the GROUP BY of tenant-owned tables (DatabaseFeatures), and health
checks (CONN_HEALTH_CHECKS) that ping only a connection left idle. Django pings a kept
connection (SELECT 1, a round trip) before its first use in every request or task, so a web
worker or the outbox relay under load pinged once per request or batch. A connection whose last
use began less than settings.DB_HEALTH_CHECK_AFTER_IDLE seconds ago (default 1) is not pinged:
what a ping finds, a connection closed by the server, a proxy or the network while unused,
happens to idle connections. A use that fails with a database error still has Django check the
connection before the next request (`errors_occurred`), and 0 pings before every use as Django does.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
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
    used_at = -math.inf  # time.monotonic() when a cursor of this connection was last made

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not self.health_check_done
            and time.monotonic() - self.used_at < getattr(settings, "DB_HEALTH_CHECK_AFTER_IDLE", 1.0)
        ):
            self.health_check_done = True  # used a moment ago: not pinged
        super().close_if_health_check_failed()

    def _cursor(self, name: str | None = None) -> Any:
        cursor = super()._cursor(name)
        self.used_at = time.monotonic()
        return cursor

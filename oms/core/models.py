"""The tenant-owned base model and the manager that refuses unscoped queries.

Every tenant-owned row is reachable only through a query that names its tenant:
`Model.objects.for_tenant(tenant)`, a filter on `tenant`/`tenant_id`, or a relation from a
row that is itself tenant-owned (`order.lines.all()`). Anything else raises
`UnscopedQueryError` when it reaches the database. Code that truly needs every tenant
(a command, a periodic sweep, a superuser's admin) says so with `.unscoped()`.

Django's own machinery (cascade deletes, `refresh_from_db`, foreign-key validation) uses
the model's plain `_base_manager`, so it is not affected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from django.db import models
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP


class UnscopedQueryError(RuntimeError):
    pass


def _is_scoping_lookup(key: str, value: Any) -> bool:
    root = key.split(LOOKUP_SEP, 1)[0]
    if root in ("tenant", "tenant_id"):
        return value is not None
    if isinstance(value, TenantOwned):
        return True
    if isinstance(value, list | tuple | set | frozenset) and value:
        return all(isinstance(v, TenantOwned) for v in value)
    return False


def _q_is_scoping(q: Q) -> bool:
    if q.negated:
        return False
    if q.connector == Q.AND:
        return any(_child_is_scoping(child) for child in q.children)
    return all(_child_is_scoping(child) for child in q.children)


def _child_is_scoping(child: Any) -> bool:
    if isinstance(child, Q):
        return _q_is_scoping(child)
    if isinstance(child, tuple) and len(child) == 2:
        return _is_scoping_lookup(child[0], child[1])
    return False


class TenantQuerySet(models.QuerySet):
    _tenant_scoped: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tenant_scoped = False

    def _clone(self) -> Self:
        clone = super()._clone()
        clone._tenant_scoped = self._tenant_scoped
        return clone

    # --- scoping ---------------------------------------------------------------------
    def for_tenant(self, tenant: Any) -> Self:
        if tenant is None:
            raise UnscopedQueryError(f"{self.model.__name__}.for_tenant() needs a tenant")
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        return self.filter(tenant_id=tenant_id)

    def unscoped(self) -> Self:
        clone = self._chain()
        clone._tenant_scoped = True
        return clone

    @property
    def is_tenant_scoped(self) -> bool:
        return self._tenant_scoped

    def _add_hints(self, **hints: Any) -> None:
        # Related managers and prefetching tag their querysets with the instance they start
        # from, then filter on it (`order.lines.all()`, `prefetch_related("lines")`). Starting
        # from a tenant-owned row scopes the query to that row's tenant.
        super()._add_hints(**hints)
        if isinstance(hints.get("instance"), TenantOwned):
            self._tenant_scoped = True

    def _filter_or_exclude(self, negate: bool, args: Iterable[Any], kwargs: dict[str, Any]) -> Self:
        args = tuple(args)
        clone = super()._filter_or_exclude(negate, args, kwargs)
        if not negate and (
            any(_is_scoping_lookup(k, v) for k, v in kwargs.items())
            or any(isinstance(a, Q) and _q_is_scoping(a) for a in args)
        ):
            clone._tenant_scoped = True
        return clone

    def _require_scope(self) -> None:
        if not self._tenant_scoped:
            raise UnscopedQueryError(
                f"Unscoped query on {self.model.__name__}: use .for_tenant(tenant), or .unscoped() "
                "where every tenant's rows are really meant."
            )

    # --- every path to the database --------------------------------------------------
    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Any:
        self._require_scope()
        return super().iterator(chunk_size=chunk_size)

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope()
        return super().delete()


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    use_in_migrations = False


class TenantOwned(models.Model):
    """Abstract base of every tenant-owned table."""

    tenant = models.ForeignKey("oms.Tenant", on_delete=models.PROTECT, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True

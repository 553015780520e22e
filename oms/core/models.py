"""The tenant-owned base model, the manager that refuses unscoped queries, and the row-level wall.

Every tenant-owned row is reachable only through a query that names ONE tenant:
`Model.objects.for_tenant(tenant)`, an equality filter on `tenant`/`tenant_id`/`tenant__pk`,
an equality filter on a relation to a row that is itself tenant-owned (`filter(order=order)`),
or a related manager / prefetch that starts from such a row (`order.lines.all()`). Anything
else (`tenant__isnull=False`, `tenant_id__gt=0`, `tenant__in=[a, b]`, an OR of two tenants)
raises `UnscopedQueryError` when it reaches the database. Code that truly needs every tenant
(a command, a periodic sweep, a superuser's admin) says so with `.unscoped()`.

A row's foreign keys never point at another tenant's rows. `save()`, `bulk_create()` and
`bulk_update()` compare the tenant of every related row that is loaded (no query); a bare id is
looked up, one query per foreign key and batch, except on PostgreSQL where the database
itself refuses it with a composite foreign key (`oms/core/tenant_fk.py`).

Django's own machinery (cascade deletes, `refresh_from_db`, forward relations, foreign-key
validation) uses the model's plain `_base_manager`, so it is not affected.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, Self

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP

from oms.core.errors import DomainError


class UnscopedQueryError(RuntimeError):
    pass


class CrossTenantReference(DomainError):
    """A tenant-owned row pointing at a row of another tenant."""

    def __init__(self, model: type[models.Model], field: models.Field) -> None:
        label = model._meta.label
        super().__init__(
            "cross_tenant_reference",
            f"{label}.{field.name} must point at a row of the same tenant.",
            model=label,
            field=field.name,
        )


# An explicit `.unscoped()`: every tenant, on purpose.
ALL_TENANTS = "all"
_EQUALITY = (None, "exact")


# --- which lookups name one tenant ----------------------------------------------------------
def _tenant_model(model: type[models.Model]) -> Any:
    return model._meta.get_field("tenant").related_model


def _tenant_id_of(value: Any, tenant_model: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, tenant_model) and value.pk is not None:
        return value.pk
    return None


def _one_tenant(ids: Iterable[int | None]) -> int | None:
    """The tenant when every id names the same one, else None."""
    found = set(ids)
    if len(found) == 1 and None not in found:
        return found.pop()
    return None


def _values(value: Any) -> list[Any] | None:
    if isinstance(value, list | tuple | set | frozenset) and value:
        return list(value)
    return None


def _scope_of_tenant_lookup(model: type[models.Model], parts: list[str], value: Any) -> int | None:
    root, rest = parts[0], parts[1:]
    if root == "tenant" and rest[:1] in (["pk"], ["id"]):
        rest = rest[1:]
    lookup = rest[0] if len(rest) == 1 else None if not rest else "?"
    tenant_model = _tenant_model(model)
    if lookup in _EQUALITY:
        return _tenant_id_of(value, tenant_model)
    if lookup == "in" and (values := _values(value)) is not None:
        return _one_tenant(_tenant_id_of(v, tenant_model) for v in values)
    return None


def _scope_of_relation_lookup(model: type[models.Model], parts: list[str], value: Any) -> int | None:
    """`order=order`, `order_line__order=order`, `lines__in=[...]`: the tenant of the rows named.

    Every hop must lead to a tenant-owned model (a relation through a shared model such as the
    user would reach other tenants), and the last lookup must be equality or `in`.
    """
    current = model
    lookup: str | None = None
    for index, part in enumerate(parts):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            if index == len(parts) - 1 and index > 0:
                lookup = part
                break
            return None
        if not field.is_relation or field.many_to_many or not is_tenant_table(field.related_model):
            return None
        current = field.related_model
    if lookup not in (*_EQUALITY, "in"):
        return None
    if lookup == "in":
        values = _values(value)
        if values is None or not all(isinstance(v, TenantOwned) for v in values):
            return None
        return _one_tenant(v.tenant_id for v in values)
    if isinstance(value, TenantOwned):
        return value.tenant_id
    return None


def _scope_of_lookup(model: type[models.Model], key: str, value: Any) -> int | None:
    parts = key.split(LOOKUP_SEP)
    if parts[0] in ("tenant", "tenant_id"):
        return _scope_of_tenant_lookup(model, parts, value)
    return _scope_of_relation_lookup(model, parts, value)


def _scope_of_q(model: type[models.Model], q: Q) -> int | None:
    if q.negated:
        return None
    scopes = [_scope_of_child(model, child) for child in q.children]
    if q.connector == Q.AND:
        return next((s for s in scopes if s is not None), None)
    return _one_tenant(scopes)  # OR / XOR: every branch must stay inside the same tenant


def _scope_of_child(model: type[models.Model], child: Any) -> int | None:
    if isinstance(child, Q):
        return _scope_of_q(model, child)
    if isinstance(child, tuple) and len(child) == 2:
        return _scope_of_lookup(model, child[0], child[1])
    return None


class TenantQuerySet(models.QuerySet):
    # None: not scoped yet; a tenant id; or ALL_TENANTS after an explicit `.unscoped()`.
    _tenant_scope: int | str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tenant_scope = None

    def _clone(self) -> Self:
        clone = super()._clone()
        clone._tenant_scope = self._tenant_scope
        return clone

    # --- scoping ---------------------------------------------------------------------
    def for_tenant(self, tenant: Any) -> Self:
        if tenant is None:
            raise UnscopedQueryError(f"{self.model.__name__}.for_tenant() needs a tenant")
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        return self.filter(tenant_id=tenant_id)

    def unscoped(self) -> Self:
        clone = self._chain()
        clone._tenant_scope = ALL_TENANTS
        return clone

    @property
    def is_tenant_scoped(self) -> bool:
        return self._tenant_scope is not None

    @property
    def tenant_scope(self) -> int | str | None:
        """The one tenant this query is limited to, ALL_TENANTS, or None (refused)."""
        return self._tenant_scope

    def _add_hints(self, **hints: Any) -> None:
        # Related managers and prefetching tag their querysets with the instance they start
        # from, then filter on it (`order.lines.all()`, `prefetch_related("lines")`). Starting
        # from a tenant-owned row scopes the query to that row's tenant.
        super()._add_hints(**hints)
        instance = hints.get("instance")
        if self._tenant_scope is None and isinstance(instance, TenantOwned):
            self._tenant_scope = instance.tenant_id

    def _filter_or_exclude(self, negate: bool, args: Iterable[Any], kwargs: dict[str, Any]) -> Self:
        args = tuple(args)
        clone = super()._filter_or_exclude(negate, args, kwargs)
        if not negate and clone._tenant_scope is None:
            scopes = [_scope_of_lookup(self.model, k, v) for k, v in kwargs.items()]
            scopes += [_scope_of_q(self.model, a) for a in args if isinstance(a, Q)]
            clone._tenant_scope = next((s for s in scopes if s is not None), None)
        return clone

    def __and__(self, other: Any) -> Self:
        combined = super().__and__(other)
        if isinstance(combined, TenantQuerySet) and combined is not other and combined is not self:
            combined._tenant_scope = self._tenant_scope or getattr(other, "_tenant_scope", None)
        return combined

    def __or__(self, other: Any) -> Self:
        combined = super().__or__(other)
        if isinstance(combined, TenantQuerySet) and combined is not other and combined is not self:
            combined._tenant_scope = self._joined_scope(other)
        return combined

    def __xor__(self, other: Any) -> Self:
        combined = super().__xor__(other)
        if isinstance(combined, TenantQuerySet) and combined is not other and combined is not self:
            combined._tenant_scope = self._joined_scope(other)
        return combined

    def _combinator_query(self, combinator: str, *other_qs: Any, all: bool = False) -> Self:
        clone = super()._combinator_query(combinator, *other_qs, all=all)
        if combinator == "union":
            clone._tenant_scope = self._joined_scope(*other_qs)
        elif combinator == "intersection" and clone._tenant_scope is None:
            clone._tenant_scope = next((q._tenant_scope for q in other_qs if q._tenant_scope), None)
        return clone

    def _joined_scope(self, *others: Any) -> int | str | None:
        """Rows from several queries: one tenant if they all name the same one."""
        scopes = {self._tenant_scope, *(getattr(o, "_tenant_scope", None) for o in others)}
        if None in scopes:
            return None
        if scopes == {ALL_TENANTS} or ALL_TENANTS in scopes:
            return ALL_TENANTS
        return scopes.pop() if len(scopes) == 1 else None

    def _require_scope(self) -> None:
        if self._tenant_scope is None:
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
        scope = self._tenant_scope
        for name, value in kwargs.items():
            if isinstance(value, TenantOwned) and isinstance(scope, int) and value.tenant_id != scope:
                raise CrossTenantReference(self.model, self.model._meta.get_field(name))
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope()
        return super().delete()

    # --- writes that skip save() -----------------------------------------------------
    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        tenant_references_check(objs, using=self.db)
        created = super().bulk_create(objs, *args, **kwargs)
        _remember_references(objs)
        return created

    def bulk_update(self, objs: Iterable[Any], fields: Sequence[str], *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        tenant_references_check(objs, fields=fields, using=self.db)
        return super().bulk_update(objs, fields, *args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    use_in_migrations = False


class TenantOwned(models.Model):
    """Abstract base of every tenant-owned table."""

    tenant = models.ForeignKey("oms.Tenant", on_delete=models.PROTECT, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        tenant_references_check([self], fields=kwargs.get("update_fields"), using=using)
        super().save(*args, **kwargs)
        _remember_references([self])

    @classmethod
    def from_db(cls, db: str, field_names: Any, values: Any) -> Self:
        instance = super().from_db(db, field_names, values)
        _remember_references([instance])
        return instance

    def validate_constraints(self, exclude: Any = None) -> None:
        """Django's, but a conditional unique constraint (one live label per shipment, a channel
        SKU mapped once) speaks like the others, not "Constraint “name” is violated"."""
        using = router.db_for_write(self.__class__, instance=self)
        errors: dict[str, Any] = {}
        for model_class, model_constraints in self.get_constraints():
            for constraint in model_constraints:
                try:
                    constraint.validate(model_class, self, exclude=exclude, using=using)
                except ValidationError as exc:
                    error = exc
                    if (
                        isinstance(constraint, models.UniqueConstraint)
                        and constraint.fields
                        and constraint.violation_error_message == constraint.default_violation_error_message
                    ):
                        error = self.unique_error_message(model_class, constraint.fields)
                    if getattr(error, "code", None) == "unique" and len(constraint.fields) == 1:
                        errors.setdefault(constraint.fields[0], []).append(error)
                    else:
                        errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def unique_error_message(self, model_class: Any, unique_check: Any) -> ValidationError:
        """A duplicate within the tenant, in the merchant's words: "A SKU with code X already exists."

        Every tenant-owned unique constraint starts with `tenant`, which the person never chose;
        Django would say "SKU with this Tenant and Code already exists"."""
        fields = [name for name in unique_check if name != "tenant"]
        if "tenant" not in unique_check or not fields:
            return super().unique_error_message(model_class, unique_check)
        opts = model_class._meta
        parts = []
        for name in fields:
            field = opts.get_field(name)
            value = getattr(self, field.name, None)
            if field.is_relation and value is not None:
                value = getattr(value, "code", None) or getattr(value, "number", None) or value
            parts.append(f"{field.verbose_name} {value}")
        noun = str(opts.verbose_name)
        article = "An" if noun[:1].lower() in "aeiou" else "A"
        return ValidationError(
            f"{article} {noun} with {' and '.join(parts)} already exists.",
            code="unique_together",
        )


# --- the row-level wall ---------------------------------------------------------------------
def is_tenant_table(model: Any) -> bool:
    """A concrete model whose own table carries tenant_id."""
    if not (isinstance(model, type) and issubclass(model, TenantOwned)):
        return False
    opts = model._meta
    return (
        not opts.abstract
        and not opts.proxy
        and opts.managed
        and any(f.name == "tenant" for f in opts.local_concrete_fields)
    )


@functools.cache
def tenant_relations(model: type[models.Model]) -> tuple[models.ForeignKey, ...]:
    """The foreign keys of a tenant-owned model that point at another tenant-owned model."""
    model._meta.apps.check_models_ready()
    if not is_tenant_table(model):
        return ()
    return tuple(
        field
        for field in model._meta.local_concrete_fields
        if field.is_relation
        and field.name != "tenant"
        and not field.remote_field.parent_link
        and is_tenant_table(field.related_model)
    )


def database_enforces_tenant_wall(using: str | None) -> bool:
    """PostgreSQL holds the composite foreign keys (oms/core/tenant_fk.py)."""
    return connections[using or DEFAULT_DB_ALIAS].vendor == "postgresql"


def _remember_references(objs: Sequence[Any]) -> None:
    """Note the foreign-key ids as stored, so an unchanged id is not looked up again on save."""
    for obj in objs:
        relations = tenant_relations(type(obj))
        if relations:
            obj._tenant_refs_stored = {f.attname: obj.__dict__.get(f.attname) for f in relations}


def tenant_references_check(
    objs: Sequence[Any],
    *,
    fields: Iterable[str] | None = None,
    using: str | None = None,
    lookup: bool | None = None,
) -> None:
    """Refuse (CrossTenantReference) any object whose foreign keys point at another tenant's row.

    A loaded related object is compared in memory. A bare id that is new or changed is looked
    up, one query per foreign key for the whole batch, unless `lookup` is False (by default:
    where the database enforces the wall itself).
    """
    if not objs:
        return
    relations = tenant_relations(type(objs[0]))
    if fields is not None:
        wanted = set(fields)
        relations = tuple(f for f in relations if f.name in wanted or f.attname in wanted)
    if not relations:
        return
    if lookup is None:
        lookup = not database_enforces_tenant_wall(using)
    pending: dict[Any, dict[Any, list[Any]]] = {}
    for obj in objs:
        if obj.tenant_id is None:
            continue  # the NOT NULL tenant column refuses the row anyway
        stored = getattr(obj, "_tenant_refs_stored", None)
        for field in relations:
            value = getattr(obj, field.attname)
            if value is None:
                continue
            if field.is_cached(obj):
                related = field.get_cached_value(obj)
                if related is not None and related.tenant_id not in (None, obj.tenant_id):
                    raise CrossTenantReference(type(obj), field)
                continue
            if not lookup or (stored is not None and stored.get(field.attname) == value):
                continue
            pending.setdefault(field, {}).setdefault(value, []).append(obj)
    for field, by_value in pending.items():
        target = field.target_field.attname
        owners = dict(
            field.related_model._base_manager.using(using)
            .filter(**{f"{target}__in": list(by_value)})
            .values_list(target, "tenant_id")
        )
        for value, referrers in by_value.items():
            for obj in referrers:
                if owners.get(value, obj.tenant_id) != obj.tenant_id:
                    raise CrossTenantReference(type(obj), field)

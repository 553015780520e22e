"""The tenant-aware admin base: staff see and edit only their tenant's rows.

Querysets, foreign-key and many-to-many choices, related-field filters and autocomplete
(which reads the related model's admin queryset) are all scoped to request.tenant. New rows
get the tenant set server-side. Superusers see every tenant.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import HttpRequest

from oms.core.audit import audit_record
from oms.core.models import TenantOwned
from oms.models import Role

ALL = frozenset({"view", "add", "change", "delete"})
DEFAULT_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: ALL,
    Role.MANAGER: ALL,
    Role.AGENT: frozenset({"view", "change"}),
    Role.WAREHOUSE: frozenset({"view"}),
}


def _plain(value: Any) -> Any:
    """A form value as JSON: rows by primary key, everything else as the audit encoder takes it."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple | set):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool | dict):
        return value
    try:
        json.dumps(value, cls=DjangoJSONEncoder)
    except TypeError:
        return str(value)
    return value


def is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


def scoped_queryset(model: type[models.Model], request: HttpRequest) -> models.QuerySet[Any]:
    """Every row of `model` this request may see."""
    qs = model._default_manager.all()
    if not issubclass(model, TenantOwned):
        return qs
    if is_superuser(request):
        return qs.unscoped()  # type: ignore[attr-defined]
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return qs.unscoped().none()  # type: ignore[attr-defined]
    return qs.for_tenant(tenant)  # type: ignore[attr-defined]


class TenantRelatedFieldListFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        qs = scoped_queryset(field.related_model, request)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            qs = qs.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in qs]


def _relational_target(model: type[models.Model], path: str) -> Any:
    field: Any = None
    current = model
    for part in path.split("__"):
        try:
            field = current._meta.get_field(part)
        except Exception:
            return None
        if not field.is_relation:
            return None
        current = field.related_model
    return field


class TenantScopedMixin:
    """Shared by ModelAdmin and inlines."""

    model: type[models.Model]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        qs = super().get_queryset(request)  # type: ignore[misc]
        if not issubclass(self.model, TenantOwned):
            return qs
        if is_superuser(request):
            return qs.unscoped()
        tenant = getattr(request, "tenant", None)
        return qs.for_tenant(tenant) if tenant is not None else qs.unscoped().none()

    def get_field_queryset(self, db: Any, db_field: Any, request: HttpRequest) -> Any:
        related = db_field.remote_field.model
        qs = super().get_field_queryset(db, db_field, request)  # type: ignore[misc]
        if not issubclass(related, TenantOwned):
            return qs
        scoped = scoped_queryset(related, request)
        if qs is not None and qs.query.order_by:
            scoped = scoped.order_by(*qs.query.order_by)
        return scoped

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        if issubclass(self.model, TenantOwned) and not is_superuser(request):
            exclude.append("tenant")
        return exclude

    # --- role-based permissions --------------------------------------------------------
    role_permissions: dict[str, frozenset[str]] = DEFAULT_ROLE_PERMISSIONS

    def _role_allows(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        if is_superuser(request):
            return True
        role = getattr(request, "role", None)
        if role is None or action not in self.role_permissions.get(role, frozenset()):
            return False
        if obj is not None and isinstance(obj, TenantOwned):
            return obj.tenant_id == request.tenant.pk  # type: ignore[attr-defined]
        return True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._role_allows(request, "view")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, "view", obj) or self._role_allows(request, "change", obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._role_allows(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, "delete", obj)


class TenantAdmin(TenantScopedMixin, admin.ModelAdmin):
    def get_list_filter(self, request: HttpRequest) -> Any:
        scoped: list[Any] = []
        for item in super().get_list_filter(request):
            if isinstance(item, str):
                field = _relational_target(self.model, item)
                if field is not None and issubclass(field.related_model, TenantOwned):
                    scoped.append((item, TenantRelatedFieldListFilter))
                    continue
            scoped.append(item)
        return scoped

    def get_list_display(self, request: HttpRequest) -> Any:
        display = list(super().get_list_display(request))
        if is_superuser(request) and issubclass(self.model, TenantOwned) and "tenant" not in display:
            display.append("tenant")
        return display

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        tenant = getattr(request, "tenant", None)
        if obj is not None or tenant is None or not issubclass(self.model, TenantOwned):
            return form_class
        if is_superuser(request) and "tenant" in form_class.base_fields:
            return form_class

        class TenantBoundForm(form_class):  # type: ignore[misc,valid-type]
            """Sets the tenant before validation, so unique-per-tenant rules are checked as errors."""

            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, **kw)
                if not self.instance.tenant_id:
                    self.instance.tenant = tenant

            def _get_validation_exclusions(self) -> Any:
                exclusions = super()._get_validation_exclusions()
                exclusions.discard("tenant")
                return exclusions

        TenantBoundForm.__name__ = form_class.__name__
        return TenantBoundForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if isinstance(obj, TenantOwned) and not obj.tenant_id:
            obj.tenant = request.tenant  # type: ignore[attr-defined]
        changed = list(getattr(form, "changed_data", []))
        before = {name: _plain(form.initial.get(name)) for name in changed} if change else None
        super().save_model(request, obj, form, change)
        if isinstance(obj, TenantOwned) and (changed or not change):
            after = {name: _plain(form.cleaned_data.get(name)) for name in changed}
            verb = "changed" if change else "created"
            audit_record(
                tenant=obj.tenant,
                actor=request.user,
                action=f"{obj._meta.model_name}.{verb}_in_admin",
                obj=obj,
                before=before,
                after=after,
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        tenant, label, pk = getattr(obj, "tenant", None), str(obj), obj.pk
        super().delete_model(request, obj)
        if isinstance(obj, TenantOwned):
            audit_record(
                tenant=tenant,
                actor=request.user,
                action=f"{obj._meta.model_name}.deleted_in_admin",
                object_type=obj._meta.label_lower,
                object_id=pk,
                before={"str": label},
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, TenantOwned) and not instance.tenant_id:
                instance.tenant_id = form.instance.tenant_id
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()


class TenantTabularInline(TenantScopedMixin, admin.TabularInline):
    pass


class TenantStackedInline(TenantScopedMixin, admin.StackedInline):
    pass

"""The tenant-aware admin base: staff see and edit only their tenant's rows, as their role allows.

Querysets, foreign-key and many-to-many choices, related-field filters and autocomplete
(which reads the related model's admin queryset) are all scoped to request.tenant. New rows
get the tenant set server-side. Superusers see every tenant.

Every door declares the capability it needs (oms.core.roles), and nothing else grants one:
- each ModelAdmin and inline: `capabilities = {"view": ..., "add": ..., "change": ..., "delete": ...}`
  (None: closed to everyone; `read_only(cap)` for pages nobody edits here; admins with
  import/export add "import"/"export");
- each action: `@capability_action(Capability.X, description=...)`;
- each custom admin page: `@requires_capability(Capability.X)` on the view method.
An admin that declares nothing is closed to every role, and tests/test_role_matrix.py fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.forms import ModelChoiceField
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest
from import_export.admin import ExportActionMixin
from unfold.admin import ModelAdmin, StackedInline, TabularInline
from unfold.contrib.import_export.forms import ExportForm

from oms.core import roles
from oms.core.audit import audit_record
from oms.core.models import TenantOwned
from oms.core.roles import Capability, request_has
from oms.models import Tenant

ADMIN_DOORS = ("view", "add", "change", "delete")


def read_only(view: Capability | None) -> dict[str, Capability | None]:
    """Capabilities of an admin whose rows are only ever seen here (changes go through services)."""
    return {"view": view, "add": None, "change": None, "delete": None}


def capability_action(capability: Capability, *, description: str) -> Callable[[Any], Any]:
    """An admin action that needs `capability`: offered to, and run for, only roles that hold it."""

    def decorator(func: Any) -> Any:
        func = admin.action(description=description, permissions=[capability.permission_name])(func)
        func.capability = capability
        return func

    return decorator


def requires_capability(capability: Capability) -> Callable[[Any], Any]:
    """A ModelAdmin's custom page (ship-to form, replenishment…): 403 unless the role holds it."""

    def decorator(method: Any) -> Any:
        @wraps(method)
        def wrapped(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request_has(request, capability):
                raise PermissionDenied
            return method(self, request, *args, **kwargs)

        wrapped.capability = capability  # type: ignore[attr-defined]
        return wrapped

    return decorator


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
    return roles.is_superuser(request.user)


def belongs_to_request_tenant(obj: Any, request: HttpRequest) -> bool:
    if is_superuser(request):
        return True
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return False
    if isinstance(obj, TenantOwned):
        return obj.tenant_id == tenant.pk
    if isinstance(obj, Tenant):
        return obj.pk == tenant.pk
    return True


class CapabilityAdminMixin:
    """Admin permissions read from the capabilities the admin declares, and nothing else."""

    capabilities: dict[str, Capability | None] = {}

    def capability_of(self, door: str) -> Capability | None:
        return self.capabilities.get(door)

    def may(self, request: HttpRequest, door: str, obj: Any = None) -> bool:
        if not request_has(request, self.capability_of(door)):
            return False
        return obj is None or belongs_to_request_tenant(obj, request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return any(self.may(request, door) for door in ADMIN_DOORS)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "view", obj) or self.may(request, "change", obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.may(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "delete", obj)


def _capability_check(capability: Capability) -> Callable[..., bool]:
    def check(self: Any, request: HttpRequest, obj: Any = None) -> bool:
        return request_has(request, capability)

    check.__name__ = f"has_{capability.permission_name}_permission"
    return check


# `permissions=[Capability.X.permission_name]` on an action calls `has_cap_x_permission`.
for _capability in Capability:
    setattr(
        CapabilityAdminMixin, f"has_{_capability.permission_name}_permission", _capability_check(_capability)
    )


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


class TenantScopedMixin(CapabilityAdminMixin):
    """Shared by ModelAdmin and inlines: rows, choices and permissions of the request's tenant."""

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


class TenantAdmin(TenantScopedMixin, ModelAdmin):
    """Titles in the merchant's words: a list is "Orders", not "Select order to change"; a row's
    page is "#ACME1001 | Order" (the row's own title, then what it is), not "Change order" on a page the role
    cannot change."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        plural = str(self.model._meta.verbose_name_plural)
        extra_context = {"title": plural[:1].upper() + plural[1:], **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> Any:
        name = str(self.model._meta.verbose_name)
        extra_context = {"title": name[:1].upper() + name[1:], **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

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


class TenantInlineFormSet(BaseInlineFormSet):
    """Inline rows are looked up (on save) among the parent's tenant's rows only.

    Django builds each inline form's hidden primary-key field from the model's default
    manager, which would refuse the unscoped lookup (or, unguarded, find another tenant's row).
    """

    def add_fields(self, form: Any, index: Any) -> None:
        super().add_fields(form, index)
        field = form.fields.get(self._pk_field.name)
        if isinstance(field, ModelChoiceField) and issubclass(field.queryset.model, TenantOwned):
            tenant_id = getattr(self.instance, "tenant_id", None)
            field.queryset = (
                field.queryset.filter(tenant_id=tenant_id) if tenant_id else field.queryset.unscoped().none()
            )


class TenantTabularInline(TenantScopedMixin, TabularInline):
    formset = TenantInlineFormSet


class TenantStackedInline(TenantScopedMixin, StackedInline):
    formset = TenantInlineFormSet


class TenantExportActionMixin(ExportActionMixin):
    """django-import-export's "Export selected" action and the change form's export button, for the
    request's tenant only (the library looks rows up through the model's unscoped manager).

    Declare `capabilities["export"]`.
    """

    export_form_class = ExportForm  # the admin theme's form (docs/admin.md)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "export")  # type: ignore[attr-defined]

    def get_valid_export_item_pks(self, request: HttpRequest) -> Any:
        return self.get_queryset(request).values_list("pk", flat=True)  # type: ignore[attr-defined]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        if request.method == "POST" and "_export-item" in request.POST:
            # Export this one row without saving the form (and without needing "change").
            obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
            if obj is None:
                raise Http404("Not found")
            if not self.has_export_permission(request):
                raise PermissionDenied
            return self.export_admin_action(request, self.get_queryset(request).filter(pk=obj.pk))  # type: ignore[attr-defined]
        return super().change_view(request, object_id, form_url, extra_context)

    def export_admin_action(self, request: HttpRequest, queryset: Any) -> Any:
        return super().export_admin_action(request, queryset)

    export_admin_action.allowed_permissions = ("export",)  # type: ignore[attr-defined]

"""Writes on tenants, memberships and API keys."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from oms.core.audit import audit_record
from oms.core.errors import DomainError
from oms.models import ApiKey, Membership, Role, Tenant, hash_api_key


@transaction.atomic
def api_key_create(
    *, tenant: Tenant, name: str, role: str = Role.MANAGER, actor: Any = None
) -> tuple[ApiKey, str]:
    """Make a key. Returns the row and the raw key, which exists nowhere else after this call."""
    prefix, raw = ApiKey.new_raw_key()
    user = actor if getattr(actor, "pk", None) is not None and not hasattr(actor, "api_key") else None
    key = ApiKey.objects.create(
        tenant=tenant, name=name, prefix=prefix, key_hash=hash_api_key(raw), role=role, created_by=user
    )
    audit_record(
        tenant=tenant, actor=actor, action="api_key.created", obj=key, after={"name": name, "role": role}
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, api_key_id: int, actor: Any = None) -> ApiKey:
    key = ApiKey.objects.for_tenant(tenant).select_for_update().get(pk=api_key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(tenant=tenant, actor=actor, action="api_key.revoked", obj=key)
    return key


@transaction.atomic
def tenant_bootstrap(
    *, slug: str, name: str, owner_email: str, password: str | None = None
) -> tuple[Tenant, Any, str]:
    """A tenant, its owner (a staff user who can sign in to the admin) and a first API key."""
    if Tenant.objects.filter(slug=slug).exists():
        raise DomainError("tenant_exists", f"A tenant with slug {slug!r} already exists.", status=409)
    tenant = Tenant.objects.create(slug=slug, name=name)
    user_model = get_user_model()
    user = user_model.objects.filter(username=owner_email).first()
    if user is None:
        user = user_model.objects.create_user(username=owner_email, email=owner_email, password=password)
        if password is None:
            user.set_unusable_password()
    user.is_staff = True
    if password:
        user.set_password(password)
    user.save()
    Membership.objects.create(tenant=tenant, user=user, role=Role.OWNER)
    audit_record(
        tenant=tenant, actor=None, action="tenant.created", obj=tenant, after={"slug": slug, "name": name}
    )
    _, raw = api_key_create(tenant=tenant, name="default", role=Role.MANAGER, actor=None)
    return tenant, user, raw


@transaction.atomic
def membership_invite(*, tenant: Tenant, email: str, role: str, actor: Any = None) -> tuple[Membership, bool]:
    """Add the person with this email to the tenant's staff; make their user if there is none.

    Returns the membership and whether a user was made (they then set a password from the
    invitation). Staff are never picked from the platform's list of users.
    """
    email = email.strip()
    user_model = get_user_model()
    user = (
        user_model.objects.filter(username__iexact=email).order_by("pk").first()
        or user_model.objects.filter(email__iexact=email).order_by("pk").first()
    )
    if user is not None and Membership.objects.for_tenant(tenant).filter(user=user).exists():
        raise DomainError("already_a_member", f"{email} is already on this tenant's staff.", status=409)
    created = user is None
    if created:
        user = user_model.objects.create_user(username=email, email=email)
        user.set_unusable_password()
    user.is_staff = True
    user.save()
    membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="membership.invited" if created else "membership.created",
        obj=membership,
        after={"email": email, "role": role},
    )
    return membership, created

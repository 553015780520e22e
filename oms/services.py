"""Writes on tenants, memberships and API keys."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from oms.core.audit import audit_record
from oms.core.errors import DomainError
from oms.core.tasks import enqueue_on_commit
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
def membership_invite(
    *, tenant: Tenant, email: str, role: str, actor: Any = None, origin: str = ""
) -> tuple[Membership, bool]:
    """Add the person with this email to the tenant's staff; make their user if there is none.

    Returns the membership and whether a user was made (they then set a password from the
    invitation). Staff are never picked from the platform's list of users. The invitation email
    goes through the outbox with the membership: `origin` ("https://oms.example.com") is where
    its set-password link points.
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
    enqueue_on_commit(
        "oms.tasks.staff_invitation_send_task",
        tenant_id=tenant.pk,
        membership_id=membership.pk,
        new_user=created,
        origin=origin,
        inviter=getattr(actor, "email", "") or str(actor or ""),
    )
    return membership, created


def staff_invitation_send(
    *, tenant_id: int, membership_id: int, new_user: bool, origin: str, inviter: str
) -> None:
    """Email a new staff member: a set-password link when their user was just made."""
    memberships = Membership.objects.for_tenant(tenant_id).select_related("user", "tenant")
    membership = memberships.get(pk=membership_id)
    user = membership.user
    link = ""
    if new_user and not user.has_usable_password():
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        path = reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])
        link = f"{origin.rstrip('/')}{path}"
    context = {"membership": membership, "tenant": membership.tenant, "link": link, "inviter": inviter}
    send_mail(
        subject=f"You are now on {membership.tenant.name}'s staff",
        message=render_to_string("admin/oms/membership/invitation_email.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )

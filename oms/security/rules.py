"""Who must use a second factor, and whose sign-in records a person may see and clear.

- Enrol: a platform superuser, and anyone who holds a role in `OMS_OTP_REQUIRED_ROLES` (owner
  and manager by default) in any active tenant. They cannot open a staff page until they have a
  confirmed device.
- Verify: anyone with a confirmed device (whatever their role: an agent or a picker who chose to
  enrol too) verifies it after the password, once per session.
- Help: a person sees the lockouts, sign-ins and devices of the staff of the tenant they act for;
  they clear a lockout or reset a device only of someone who works for that tenant alone and is
  no superuser (someone who also works for another tenant, or a superuser, is helped by a
  superuser: one tenant's owner must not open the door to another tenant).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from oms.models import Membership


def required_roles() -> set[str]:
    return set(getattr(settings, "OMS_OTP_REQUIRED_ROLES", ("owner", "manager")))


def must_enrol(user: Any) -> bool:
    """Whether this signed-in user may not work without a confirmed second factor."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser and getattr(settings, "OMS_OTP_REQUIRED_FOR_SUPERUSERS", True):
        return True
    return (
        Membership.objects.unscoped()
        .filter(user_id=user.pk, tenant__is_active=True, role__in=required_roles())
        .exists()
    )


def confirmed_devices(user: Any) -> QuerySet[TOTPDevice]:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True)


def has_device(user: Any) -> bool:
    return confirmed_devices(user).exists()


def is_verified(user: Any) -> bool:
    """Set by django-otp's middleware: the session holds a device of this user that verified a code."""
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


def staff_usernames(tenant: Any) -> QuerySet[Any]:
    """The usernames of the tenant's staff (a subquery)."""
    return get_user_model().objects.filter(memberships__tenant=tenant).values("username")


def helpable_users(tenant: Any) -> QuerySet[Any]:
    """Staff whose lockouts and devices a person of `tenant` may clear: they work for it alone."""
    return (
        get_user_model()
        .objects.filter(is_superuser=False)
        .annotate(
            tenants=Count("memberships", distinct=True),
            here=Count("memberships", filter=Q(memberships__tenant=tenant), distinct=True),
        )
        .filter(tenants=1, here=1)
    )

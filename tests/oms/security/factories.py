"""Sign-in records of a staff member: a confirmed device, failed sign-ins, a sign-in."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessLog
from django_otp.plugins.otp_totp.models import TOTPDevice


def sign_in_records(user: Any, *, failures: int = 2, ip: str = "203.0.113.7") -> dict[str, Any]:
    """Keyed by model label, as tests/worlds.py files them for the role matrix."""
    name = user.get_username()
    device = TOTPDevice.objects.create(user=user, name=f"{name} phone", confirmed=True)
    attempt = AccessAttempt.objects.create(
        username=name,
        ip_address=ip,
        user_agent="Firefox",
        http_accept="text/html",
        path_info="/admin/login/",
        get_data="",
        post_data="",
        failures_since_start=failures,
    )
    log = AccessLog.objects.create(
        username=name, ip_address=ip, user_agent="Firefox", http_accept="text/html", path_info="/admin/login/"
    )
    return {"otp_totp.totpdevice": device, "axes.accessattempt": attempt, "axes.accesslog": log}

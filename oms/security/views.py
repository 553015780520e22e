"""The second-factor pages: enrol a TOTP device (QR code drawn here), verify it after the password.

Both are for a signed-in person (`account.own`); the middleware sends them here. A wrong code
on the verification page counts as a failed sign-in (django-axes): enough of them, password
or code, and the account is locked for the cool-off, this session signed out.
"""

from __future__ import annotations

import math
from base64 import b32encode
from typing import Any

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.contrib import admin
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from oms.core.audit import audit_record
from oms.core.permissions import capability_required
from oms.core.roles import Capability
from oms.security import rules
from oms.security.forms import CodeForm
from oms.security.lockout import locked_page

DEVICE_NAME = "Authenticator app"


def next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def with_next(name: str, target: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': target})}"


def page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": title, **context}
    # Nothing of the admin before the second factor: no menu of its pages.
    context.update(available_apps=[], is_nav_sidebar_enabled=False)
    return render(request, template, context)


def _audit(request: HttpRequest, action: str, device: TOTPDevice) -> None:
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        audit_record(
            tenant=tenant, actor=request.user, action=action, obj=device, after={"name": device.name}
        )


WRONG_CODE = "That code is not right. Codes change every 30 seconds: try the current one."


def throttled(device: TOTPDevice) -> str | None:
    """Why a code would not even be checked now: too soon after wrong ones (django-otp's throttle)."""
    allowed, data = device.verify_is_allowed()
    if allowed or not data or not data.get("locked_until"):
        return None
    wait = max(1, math.ceil((data["locked_until"] - timezone.now()).total_seconds()))
    seconds = f"{wait} second{'s' if wait != 1 else ''}"
    return f"Too many wrong codes in a row: wait {seconds}, then try the current one."


def _credentials(request: HttpRequest) -> dict[str, str]:
    return {"username": request.user.get_username()}


@capability_required(Capability.OWN_ACCOUNT)
def verify(request: HttpRequest) -> HttpResponse:
    """The code of a confirmed device, once per session, after the password."""
    target = next_url(request)
    user = request.user
    if rules.is_verified(user):
        return HttpResponseRedirect(target)
    devices = list(rules.confirmed_devices(user).order_by("pk"))
    if not devices:
        return HttpResponseRedirect(with_next("security:enrol", target))
    credentials = _credentials(request)
    if AxesProxyHandler.is_locked(request, credentials):
        logout(request)
        return locked_page(request, credentials["username"])
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = throttled(devices[0])
        device = None
        if wait is None:
            code = form.cleaned_data["code"]
            device = next((d for d in devices if verify_token(user, d.persistent_id, code)), None)
        if device is not None:
            otp_login(request, device)
            AxesProxyHandler.reset_attempts(username=credentials["username"])  # signed in completely
            return HttpResponseRedirect(target)
        form.add_error("code", wait or WRONG_CODE)
        if wait is None:  # a code checked and wrong counts as a failed sign-in
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            logout(request)
            return locked_page(request, credentials["username"])
    return page(request, "security/verify.html", "Second factor", form=form, next=target)


def _pending_device(user: Any) -> TOTPDevice:
    """The device being enrolled: the same secret on every reload until it is confirmed."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@capability_required(Capability.OWN_ACCOUNT)
def enrol(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: scan the QR code (or type the secret), then confirm with a code."""
    target = next_url(request)
    user = request.user
    if rules.has_device(user):  # one more device is added by someone who verified: not here
        verified = rules.is_verified(user)
        return HttpResponseRedirect(target if verified else with_next("security:verify", target))
    device = _pending_device(user)
    form = CodeForm(request.POST or None)
    wait = throttled(device) if request.method == "POST" else None
    if request.method == "POST" and form.is_valid() and wait is None:
        with transaction.atomic():
            confirmed = verify_token(user, device.persistent_id, form.cleaned_data["code"])
            if confirmed is not None:
                TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
                TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
        if confirmed is not None:
            device.refresh_from_db()
            otp_login(request, device)
            _audit(request, "security.device_enrolled", device)
            return HttpResponseRedirect(target)
        form.add_error("code", WRONG_CODE + " Check that your phone sets its clock automatically.")
    elif wait is not None:
        form.add_error("code", wait)
    qr = segno.make(device.config_url, error="m")
    return page(
        request,
        "security/enrol.html",
        "Set up your second factor",
        form=form,
        next=target,
        qr_svg=qr.svg_inline(scale=5, dark="#000", light="#fff"),
        secret=secret_text(device),
        required=rules.must_enrol(user),
    )

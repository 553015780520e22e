"""Every staff page asks for the second factor after the password (rules in oms/security/rules.py).

Runs after django-otp's OTPMiddleware (which tells whether the session verified a device). For a
signed-in user on any route but the sign-in ones and the public ones (`PUBLIC_ROUTES`):
- a confirmed device not verified in this session: to the verification page;
- no confirmed device but one is required (owners, managers, superusers): to the enrolment page;
- on the API, a session (not an API key) in either case: 403 `second_factor_required`.
Signed-out requests pass untouched: the pages themselves send them to the sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse

from oms.core.roles import PUBLIC_ROUTES
from oms.security import rules

# The routes a signed-in person needs before the second factor: signing in and out, setting a
# password, and the second-factor pages themselves.
SIGN_IN_ROUTES = frozenset(
    {
        "admin:login",
        "admin:logout",
        "security:verify",
        "security:enrol",
    }
)
API_PREFIX = "/api/"


def exempt(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True  # a 404 shows nothing
    return match.view_name in SIGN_IN_ROUTES or match.view_name in PUBLIC_ROUTES


def is_bearer(request: HttpRequest) -> bool:
    """An API key answers for itself (a wrong one is refused, never the session used instead)."""
    return request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("bearer ")


def second_factor_step(user: object) -> str | None:
    """ "security:verify", "security:enrol", or None when this user may go on."""
    if rules.is_verified(user):
        return None
    if rules.has_device(user):
        return "security:verify"
    if rules.must_enrol(user):
        return "security:enrol"
    return None


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or exempt(request):
            return self.get_response(request)
        if request.path.startswith(API_PREFIX) and is_bearer(request):
            return self.get_response(request)  # an API key: the session's user is not acting
        step = second_factor_step(user)
        if step is None:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return JsonResponse(
                {
                    "code": "second_factor_required",
                    "message": "Verify your second factor in the admin before using the API from it.",
                },
                status=403,
            )
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(step)}?{query}")

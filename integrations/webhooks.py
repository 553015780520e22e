"""POST /webhooks/<kind>/<token>/: find the account by its token, verify, store, acknowledge.

Each kind's verifier (registered in `IntegrationsConfig.ready`) checks the vendor's own
signature over the raw body and names the event; nothing else happens in the request:

- verified → stored raw in the inbox (deduplicated by event id) and processed by a task;
  answered 200 `{"received": true, "duplicate": ..., "state": ...}`;
- verified but not an event → kept as `rejected`, answered 400 `malformed_payload`
  (only a sender holding the secret can get this far);
- unsigned, badly signed, a kind without a verifier yet, an inactive account → kept as
  `rejected` (a bounded summary, see `inbound_event_reject`) and answered 401
  `invalid_signature`. An unknown token gets exactly the same answer, so the answer never
  says whether an account exists;
- a vendor's ping (WooCommerce posts `webhook_id=<id>` when a webhook is saved and disables
  it unless answered 200): the verifier raises `DeliveryPing`; answered 200
  `{"received": false, "ping": true}`, nothing stored (anyone could send one).

Rejected deliveries are rate-limited per endpoint (kind and token, known or not, so a flood
cannot tell the two apart either): past REJECTED_LIMIT in REJECTED_WINDOW_SECONDS the
answer is 429 and nothing more is stored until the window ends. Verified deliveries are
never limited.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.inbox import MAX_REJECTED_BODY_BYTES, inbound_event_reject, inbound_event_store
from integrations.models import WEBHOOK_KINDS, ChannelAccount, tenant_of_webhook_token
from integrations.signing import signature_matches

logger = logging.getLogger(__name__)

REJECTED_LIMIT = 30
REJECTED_WINDOW_SECONDS = 60
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class VerifiedDelivery:
    event_id: str
    event_type: str
    body: str  # the raw body as text, exactly as verified


class DeliveryRejected(Exception):
    """The delivery does not verify (the sender has not shown it holds the secret)."""


class DeliveryMalformed(Exception):
    """The delivery verifies but is not an event we can take."""


class DeliveryPing(Exception):
    """The vendor checks the URL answers (no event in it): 200, nothing stored."""


# verifier(account, raw body, request headers) -> VerifiedDelivery, or raises one of the above
WebhookVerifier = Callable[[ChannelAccount, bytes, Mapping[str, str]], VerifiedDelivery]
_verifiers: dict[str, WebhookVerifier] = {}


def register_webhook_verifier(kind: str, verifier: WebhookVerifier) -> None:
    _verifiers[kind] = verifier


# --- what the verifiers share -------------------------------------------------------------------
def delivery_header(headers: Mapping[str, str], *names: str) -> str:
    """The first of these headers that is set, stripped ("" when none is)."""
    for name in names:
        value = headers.get(name)
        if value:
            return value.strip()
    return ""


def delivery_required_header(headers: Mapping[str, str], *names: str) -> str:
    """`delivery_header`, or DeliveryMalformed naming the first header when none is set."""
    value = delivery_header(headers, *names)
    if not value:
        raise DeliveryMalformed(f"no {names[0]} header")
    return value


def delivery_signature_check(
    secret: str, raw: bytes, headers: Mapping[str, str], *, header: str, sign: Callable[[str, bytes], str]
) -> None:
    """The `header` must be `sign(secret, raw)` (compared in constant time), else DeliveryRejected."""
    if not secret:
        raise DeliveryRejected("no webhook secret configured")
    signature = delivery_header(headers, header)
    if not signature:
        raise DeliveryRejected(f"no {header} header")
    if not signature_matches(sign(secret, raw), signature):
        raise DeliveryRejected("signature does not verify")


def delivery_json(raw: bytes) -> tuple[str, Any]:
    """The verified body as text and as JSON; DeliveryMalformed when it is not UTF-8 JSON."""
    try:
        body = raw.decode("utf-8")
        return body, json.loads(body)
    except UnicodeDecodeError:
        raise DeliveryMalformed("body is not UTF-8") from None
    except ValueError as exc:
        raise DeliveryMalformed(f"not JSON ({exc.__class__.__name__})") from None


def delivery_json_object(raw: bytes) -> tuple[str, dict[str, Any]]:
    """`delivery_json`, for a vendor whose every event is a JSON object."""
    body, payload = delivery_json(raw)
    if not isinstance(payload, dict):
        raise DeliveryMalformed("the body is not a JSON object")
    return body, payload


def _answer(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _unverified() -> JsonResponse:
    return _answer("invalid_signature", "The delivery could not be verified.", 401)


def _rejections_exceeded(kind: str, token: str) -> bool:
    """Count one rejected delivery for this endpoint; True once the window's limit is passed."""
    key = "webhooks:rejected:" + hashlib.sha256(f"{kind}:{token}".encode()).hexdigest()[:40]
    try:
        cache.add(key, 0, timeout=REJECTED_WINDOW_SECONDS)
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=REJECTED_WINDOW_SECONDS)
        count = 1
    except Exception:  # the cache is down: keep receiving rather than refuse everyone
        logger.exception("The webhook rate limit could not be counted")
        return False
    return count > REJECTED_LIMIT


def _too_many() -> JsonResponse:
    response = _answer("rate_limited", "Too many rejected deliveries; retry later.", 429)
    response["Retry-After"] = str(REJECTED_WINDOW_SECONDS)
    return response


def _read_body(request: HttpRequest) -> tuple[bytes, str]:
    """The raw body, and why it cannot be taken ("" when it can)."""
    try:
        return request.body, ""
    except RequestDataTooBig:  # still keep its start for the record
        return request.read(MAX_REJECTED_BODY_BYTES), "body larger than DATA_UPLOAD_MAX_MEMORY_SIZE"


def _account_for(kind: str, token: str) -> ChannelAccount | None:
    if not _TOKEN.match(token):
        return None
    tenant_id = tenant_of_webhook_token(token)
    accounts = (
        ChannelAccount.objects.unscoped()  # a token made before tokens named their tenant
        if tenant_id is None
        else ChannelAccount.objects.for_tenant(tenant_id)
    )
    return accounts.filter(kind=kind, webhook_token=token).first()


def _refusal(
    kind: str, account: ChannelAccount | None, verifier: WebhookVerifier | None, unreadable: str
) -> str:
    if account is None:
        return "unknown endpoint"
    if not account.active:
        return "account inactive"
    if verifier is None:
        return f"no verifier for {kind} yet"
    return unreadable


def _reject(
    request: HttpRequest, kind: str, token: str, account: ChannelAccount | None, raw: bytes, reason: str
) -> JsonResponse | None:
    """Count and keep a rejected delivery; a 429 answer once past the limit, else None."""
    if _rejections_exceeded(kind, token):
        return _too_many()
    if account is not None:
        row = inbound_event_reject(account=account, headers=request.headers, body=raw, error=reason)
        logger.warning("Rejected a %s webhook for account %s (row %s): %s", kind, account.pk, row.pk, reason)
    else:
        logger.info("A %s webhook came for an unknown endpoint", kind)
    return None


@csrf_exempt
@require_POST
def webhook_receive(request: HttpRequest, kind: str, token: str) -> JsonResponse:
    if kind not in WEBHOOK_KINDS:
        return _answer("not_found", "No such webhook kind.", 404)
    account = _account_for(kind, token)
    verifier = _verifiers.get(kind)
    raw, unreadable = _read_body(request)
    if account is None or verifier is None or not account.active or unreadable:
        refusal = _refusal(kind, account, verifier, unreadable)
        return _reject(request, kind, token, account, raw, refusal) or _unverified()
    try:
        delivery = verifier(account, raw, request.headers)
    except DeliveryPing:
        return JsonResponse({"received": False, "ping": True})
    except DeliveryRejected as exc:
        return _reject(request, kind, token, account, raw, str(exc)) or _unverified()
    except DeliveryMalformed as exc:
        return _reject(request, kind, token, account, raw, f"malformed: {exc}") or _answer(
            "malformed_payload", "The body is not an event.", 400
        )
    row, created = inbound_event_store(
        account=account,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        headers=request.headers,
        body=delivery.body,
    )
    return JsonResponse({"received": True, "duplicate": not created, "state": row.state})

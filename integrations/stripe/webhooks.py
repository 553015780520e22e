"""POST /integrations/stripe/<account_id>/webhook/: verify, store, acknowledge. Nothing else.

The raw body is verified with the account's signing secret (stripe.Webhook.construct_event,
5-minute tolerance) and stored in the inbox before anything else; processing happens in a
Celery task enqueued on commit. A delivery that fails verification is stored as `rejected`
and answered 400; a redelivery of a known event is counted and answered 200.
"""

from __future__ import annotations

import json
import logging

import stripe
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.inbox import inbound_event_reject, inbound_event_store
from integrations.models import ChannelAccount, ChannelKind

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
KEPT_HEADERS = ("Content-Type", "User-Agent", "Stripe-Signature", "Content-Length", "X-Request-Id")


def _headers(request: HttpRequest) -> dict[str, str]:
    return {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}


def _error(code: str, message: str, status: int, **extra: object) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, account_id: int) -> JsonResponse:
    account = (
        ChannelAccount.objects.unscoped()  # the account in the URL is what names the tenant
        .filter(pk=account_id, kind=ChannelKind.STRIPE, active=True)
        .first()
    )
    if account is None:
        return _error("not_found", "No such webhook endpoint.", 404)
    raw = request.body
    body = raw.decode("utf-8", errors="replace")
    headers = _headers(request)
    signature = request.headers.get("Stripe-Signature", "")
    if not account.webhook_secret:
        inbound_event_reject(
            account=account, headers=headers, body=body, error="no webhook secret configured"
        )
        return _error("invalid_signature", "This endpoint has no signing secret configured.", 400)
    try:
        event = stripe.Webhook.construct_event(
            raw, signature, account.webhook_secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        row = inbound_event_reject(account=account, headers=headers, body=body, error=f"signature: {exc}")
        logger.warning("Rejected a Stripe webhook for account %s: bad signature (row %s)", account.pk, row.pk)
        return _error("invalid_signature", "The Stripe-Signature header does not verify.", 400)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # Verified, but not a JSON event object (the SDK parses only after verifying).
        inbound_event_reject(account=account, headers=headers, body=body, error=f"malformed: {exc}")
        return _error("malformed_payload", "The body is not a JSON event.", 400)
    payload = json.loads(raw)
    event_id = payload.get("id") if isinstance(payload, dict) else None
    event_type = payload.get("type") if isinstance(payload, dict) else None
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        inbound_event_reject(
            account=account, headers=headers, body=body, error="malformed: no event id or type"
        )
        return _error("malformed_payload", "The event has no id or type.", 400)
    del event  # verified; the stored raw body is what processing reads
    row, created = inbound_event_store(
        account=account, event_id=event_id, event_type=event_type, headers=headers, body=body
    )
    return JsonResponse({"received": True, "duplicate": not created, "state": row.state})

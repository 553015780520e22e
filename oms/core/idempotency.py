"""`Idempotency-Key` for create endpoints.

The same key with the same body replays the first response, status and body; a concurrent
duplicate waits for the first to finish. The same key with another body answers 409
`idempotency_key_reused`. A request that fails with an exception or a 5xx leaves no record,
so that it can be retried.

Two ways to keep the record:
- `idempotent`: the first request with a key claims it (a row committed before any work
  starts), runs, and stores its response. For handlers that commit on their own.
- `idempotent_atomic`: the handler's work and the record (with its response) are one
  transaction, the record written last; for handlers with no step that must follow a commit.
  A duplicate running at the same time does its work, then waits on the key's unique index
  for the first to commit, rolls all of it back and replays the first's response: nothing it
  did remains. One commit for the whole request: the order placement's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from rest_framework.response import Response

from oms.core.api import error_response
from oms.core.errors import CommonErrorCode
from oms.core.inserts import insert_sql
from oms.models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=48)
WAIT_SECONDS = 15.0


def _request_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _key_too_long() -> Response:
    return error_response(
        CommonErrorCode.VALIDATION_ERROR,
        "Idempotency-Key has at most 255 characters.",
        400,
        fields={HEADER: [{"code": "max_length", "message": "At most 255 characters."}]},
    )


def idempotent(request: Any, scope: str, handler: Callable[[], Response]) -> Response:
    key = (request.headers.get(HEADER) or "").strip()
    if not key:
        return handler()
    if len(key) > 255:
        return _key_too_long()
    tenant = request.tenant
    digest = _request_hash(request.data)
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                tenant=tenant, key=key, scope=scope, request_hash=digest
            )
    except IntegrityError:
        return _replay(tenant, scope, key, digest)
    try:
        response = handler()
    except BaseException:
        IdempotencyRecord.objects.for_tenant(tenant).filter(pk=record.pk).delete()
        raise
    if response.status_code >= 500:
        IdempotencyRecord.objects.for_tenant(tenant).filter(pk=record.pk).delete()
        return response
    IdempotencyRecord.objects.for_tenant(tenant).filter(pk=record.pk).update(
        status_code=response.status_code, response_body=response.data
    )
    response["Idempotency-Key"] = key
    return response


class _KeyTaken(Exception):
    """The key's record exists: another request with this key committed first."""


def idempotent_atomic(
    request: Any,
    scope: str,
    handler: Callable[[bool], Response],
    *,
    retry_on: tuple[type[BaseException], ...] = (),
) -> Response:
    """Run `handler(retrying)` in one transaction with the key's record (see the module's docstring).

    `retry_on`: errors after which the whole transaction runs once more, with retrying=True: an
    optimistic handler that met a duplicate (an IntegrityError) looks for it on its second run.
    A transaction PostgreSQL chose as a deadlock's victim, or refused to serialize, runs once
    more too (lock_conflict): it was rolled back whole, and the client would only send it again.
    """
    key = (request.headers.get(HEADER) or "").strip()
    if len(key) > 255:
        return _key_too_long()
    tenant = request.tenant
    digest = _request_hash(request.data) if key else ""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                response = handler(attempt == 2)
                if key and response.status_code < 500:
                    _store(tenant, scope, key, digest, response)
            break
        except _KeyTaken:
            return _replay(tenant, scope, key, digest)
        except Exception as error:
            if attempt == 2 or not (isinstance(error, retry_on) or lock_conflict(error)):
                raise
            logger.info("%s: ran again after %s", scope, type(error).__name__)
    if key:
        response["Idempotency-Key"] = key
    return response


LOCK_CONFLICTS = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def lock_conflict(error: BaseException) -> bool:
    """A database error that says "run the transaction again": a deadlock or a serialization failure."""
    cause = error.__cause__ if isinstance(error, OperationalError) else None
    return getattr(cause, "sqlstate", None) in LOCK_CONFLICTS


def _store(tenant: Any, scope: str, key: str, digest: str, response: Response) -> None:
    """The record with its response, in the caller's transaction. A record of a concurrent request
    with this key (committed first, or committing: the INSERT waits for it) raises _KeyTaken.
    One INSERT from oms.core.inserts, with nothing returned: nothing reads the record back."""
    record = IdempotencyRecord(
        tenant=tenant,
        key=key,
        scope=scope,
        request_hash=digest,
        status_code=response.status_code,
        response_body=response.data,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(*insert_sql(IdempotencyRecord, [record], returning=()))
    except IntegrityError as exc:
        raise _KeyTaken from exc


def _replay(tenant: Any, scope: str, key: str, digest: str) -> Response:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        record = IdempotencyRecord.objects.for_tenant(tenant).filter(scope=scope, key=key).first()
        if record is None:
            return error_response("idempotency_key_in_use", "A request with this key failed; retry it.", 409)
        if record.request_hash != digest:
            return error_response(
                CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This Idempotency-Key was used with a different request body.",
                409,
            )
        if record.status_code is not None:
            response = Response(record.response_body, status=record.status_code)
            response["Idempotency-Key"] = key
            response["Idempotent-Replayed"] = "true"
            return response
        if time.monotonic() > deadline:
            response = error_response(
                "idempotency_key_in_use", "A request with this key is still running.", 409
            )
            response["Retry-After"] = "1"
            return response
        time.sleep(0.05)


def idempotency_records_purge(*, older_than: timedelta = KEEP_FOR) -> int:
    """Drop keys past their lifetime (kept at least 24 hours, by default 48)."""
    cutoff = timezone.now() - older_than
    deleted, _ = IdempotencyRecord.objects.unscoped().filter(created_at__lt=cutoff).delete()
    return deleted

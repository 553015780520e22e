"""Domain errors: services raise these, the API renders them as {code, message, extra}."""

from __future__ import annotations

from enum import StrEnum


class DomainError(Exception):
    """A rule refused the operation. `status` is the HTTP status the API answers with."""

    status: int = 422

    def __init__(self, code: StrEnum | str, message: str = "", *, status: int | None = None, **extra: object):
        code_value = code.value if isinstance(code, StrEnum) else str(code)
        super().__init__(message or code_value)
        self.code = code_value
        self.message = message or code_value.replace("_", " ")
        self.extra = extra
        if status is not None:
            self.status = status


class ConflictError(DomainError):
    status = 409


class NotFoundError(DomainError):
    status = 404


class CommonErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    ILLEGAL_TRANSITION = "illegal_transition"
    CONCURRENT_UPDATE = "concurrent_update"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    VALIDATION_ERROR = "validation_error"
    REQUEST_TOO_LARGE = "request_too_large"

"""Errors a user can act on, and how every API maps them (and anything unexpected) to JSON responses."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """An error the caller caused or can act on. The message is shown to the user as is."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class BadRequest(ApiError):
    status = HTTPStatus.BAD_REQUEST
    code = "bad_request"


class Unauthorized(ApiError):
    status = HTTPStatus.UNAUTHORIZED
    code = "unauthorized"


class Forbidden(ApiError):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class NotFound(ApiError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class Conflict(ApiError):
    status = HTTPStatus.CONFLICT
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"


class TooManyRequests(ApiError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "too_many_requests"


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The one error shape every API answers with, as JSON: the details given, and no key that was not."""
    # Imported on the first error, not at a cold start: most invocations answer without one.
    from imgplat_common.error_models import ErrorBody, ErrorDetail

    detail = ErrorDetail(code=code, message=message, **details)
    return ErrorBody(error=detail).model_dump(mode="json", exclude_unset=True)


def new_error_id() -> str:
    """An id logged with an internal error and shown to the user, so support can find the log line."""
    return uuid.uuid4().hex

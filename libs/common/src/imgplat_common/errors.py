"""Errors a user can act on, and how every API maps them (and anything unexpected) to JSON responses."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class ErrorDetail(BaseModel):
    """What went wrong: a stable code to branch on, a message to show, and details that depend on the code."""

    model_config = ConfigDict(extra="allow")  # the details of each code (max_bytes, status, reason, ...)

    code: str = Field(description="Stable, machine-readable: invalid_request, not_found, not_ready, too_large, ...")
    message: str = Field(description="Human-readable; safe to show to the user.")
    error_id: str | None = Field(default=None, description="On internal errors: quote it to support.")
    fields: list[dict[str, str]] | None = Field(default=None, description="invalid_request: each {field, problem}.")
    allowed: list[str] | None = Field(default=None, description="The values that would have been accepted.")


class ErrorBody(BaseModel):
    """The one error shape of every route: {"error": {"code", "message", ...}}."""

    model_config = ConfigDict(title="Error")  # its name in docs/openapi.yaml

    error: ErrorDetail


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The one error shape every API answers with, as JSON: the details given, and no key that was not."""
    detail = ErrorDetail(code=code, message=message, **details)
    return ErrorBody(error=detail).model_dump(mode="json", exclude_unset=True)


def new_error_id() -> str:
    """An id logged with an internal error and shown to the user, so support can find the log line."""
    return uuid.uuid4().hex

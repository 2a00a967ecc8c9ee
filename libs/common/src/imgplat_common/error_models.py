"""The one error body of every API, {"error": {"code", "message", ...}}: what errors.error_body() answers and what
docs/openapi.yaml describes (scripts/generate_openapi.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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

"""Who is calling: the Cognito claims that API Gateway's authorizer put on the request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imgplat_common.errors import Unauthorized


@dataclass(frozen=True)
class Caller:
    sub: str
    email: str | None = None


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    """The verified caller of an API Gateway (REST, Cognito authorizer) proxy event.

    API Gateway has already checked the ID token; a request without claims never came through the authorizer,
    so it is refused rather than trusted.
    """
    context = event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthorized(
            "No valid ID token: sign in (or renew an expired one with POST /auth/refresh) and send it as "
            "'Authorization: Bearer <id_token>'."
        )
    email = claims.get("email")
    return Caller(sub=sub, email=email if isinstance(email, str) else None)

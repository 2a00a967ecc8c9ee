"""The JSON bodies the /auth API accepts. Secrets are SecretStr, so a stray log line shows '**********'."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, WithJsonSchema

# Cognito is the authority on an address's syntax (it refuses what it cannot take) and proves it is real by mailing a
# code; here only its shape: a local part of at most 64 characters, one @, a domain with a dot, no spaces or control
# characters, at most 254 characters in all (RFC 5321). Not pydantic's EmailStr: importing its email-validator alone
# takes more than the auth function's whole cold-start budget (docs/performance.md, cold start).
_EMAIL_SHAPE = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f.]+(\.[^@\s\x00-\x1f\x7f.]+)+")
MAX_EMAIL_LENGTH = 254


def _email_shaped(address: str) -> str:
    if len(address) > MAX_EMAIL_LENGTH or not _EMAIL_SHAPE.fullmatch(address):
        raise ValueError("value is not a valid email address")
    # Cognito keeps addresses case-insensitively (UsernameConfiguration); lower case keeps our side the same.
    return address.lower()


Email = Annotated[str, AfterValidator(_email_shaped), WithJsonSchema({"type": "string", "format": "email"})]
Password = Annotated[SecretStr, Field(min_length=1, max_length=256)]  # Cognito's own limits
Code = Annotated[SecretStr, Field(min_length=1, max_length=64)]
Token = Annotated[SecretStr, Field(min_length=1, max_length=8192)]
Session = Annotated[SecretStr, Field(min_length=20, max_length=2048)]  # Cognito's own limits


def _digits_only(code: SecretStr) -> SecretStr:
    if not code.get_secret_value().isascii() or not code.get_secret_value().isdigit():
        raise ValueError("an authenticator app's code is 6 digits")
    return code


# What an authenticator app shows: 6 digits (Cognito refuses anything else before checking it).
TotpCode = Annotated[SecretStr, Field(min_length=6, max_length=6), AfterValidator(_digits_only)]


class _Body(BaseModel):
    # Unknown fields are refused: a typo ("pasword") gets a clear 400 instead of a confusing Cognito error.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credentials(_Body):
    """POST /auth/signup and /auth/signin."""

    email: Email
    password: Password


class Verification(_Body):
    """POST /auth/verify."""

    email: Email
    code: Code


class EmailOnly(_Body):
    """POST /auth/resend-code and /auth/forgot-password."""

    email: Email


class RefreshRequest(_Body):
    """POST /auth/refresh."""

    refresh_token: Token


class _AccessTokenBody(_Body):
    # The access token in the body, or as 'Authorization: Bearer <access_token>' (handlers/api.py reads both).
    access_token: Token | None = None


class SignOutRequest(_AccessTokenBody):
    """POST /auth/signout: the access token in the body, or as 'Authorization: Bearer <access_token>'."""


class MfaRequest(_AccessTokenBody):
    """POST /auth/mfa/setup and /auth/mfa/disable: the access token in the body, or as 'Authorization: Bearer'."""


class MfaConfirmation(_AccessTokenBody):
    """POST /auth/mfa/verify: the code the authenticator app shows for the new secret (and the access token)."""

    code: TotpCode


class MfaSignIn(_Body):
    """POST /auth/signin/mfa: the session of the sign-in that asked for a code, and the app's current code."""

    email: Email
    session: Session
    code: TotpCode


class PasswordReset(_Body):
    """POST /auth/confirm-forgot-password."""

    email: Email
    code: Code
    new_password: Password

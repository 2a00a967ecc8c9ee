"""The JSON bodies the /auth API answers with: what accounts.py returns, the handler sends and the OpenAPI reads."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from imgplat_auth.identity import MfaChallenge, TokenSet

# The platform's APIs take the ID token (their Cognito authorizer has no scopes, so an access token is refused).
SEND_ID_TOKEN_AS = "Authorization: Bearer <id_token>"  # noqa: S105 (how to send it, not a token)


# Every field is in every answer, defaults too: the OpenAPI schema says so (required).
ANSWER_CONFIG = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class Message(BaseModel):
    """An answer with nothing to hand back but a sentence for the user."""

    model_config = ANSWER_CONFIG

    message: str


class _Tokens(BaseModel):
    model_config = ANSWER_CONFIG

    # Tokens are credentials: kept out of repr, so a stray log line never shows one.
    id_token: str = Field(repr=False, description="Send as 'Authorization: Bearer <id_token>' on every non-auth route.")
    access_token: str = Field(repr=False, description="For /auth/signout.")
    expires_in: int = Field(description="Seconds until the ID and access tokens expire.")
    token_type: str

    @classmethod
    def of(cls, tokens: TokenSet) -> Self:
        """The answer carrying `tokens`: each answer takes the tokens it declares, and no other."""
        return cls(**{name: getattr(tokens, name) for name in cls.model_fields if hasattr(tokens, name)})


class Refreshed(_Tokens):
    """POST /auth/refresh: new ID and access tokens (a refresh issues no new refresh token)."""


class SignedIn(_Tokens):
    """POST /auth/signin: every token of the new session, and how to send the ID token."""

    refresh_token: str | None = Field(repr=False, description="For /auth/refresh; a sign-in always has one.")
    send_as: str = SEND_ID_TOKEN_AS


class MfaRequired(BaseModel):
    """POST /auth/signin of a user who turned on TOTP: no tokens yet, the app's code comes next."""

    model_config = ANSWER_CONFIG

    challenge: Literal["SOFTWARE_TOKEN_MFA"] = "SOFTWARE_TOKEN_MFA"
    session: str = Field(repr=False, description="Send back with the code to POST /auth/signin/mfa; minutes-lived.")
    message: str = "Send the code your authenticator app shows, with this session, to POST /auth/signin/mfa."

    @classmethod
    def of(cls, challenge: MfaChallenge) -> Self:
        return cls(session=challenge.session)


class TotpSetup(BaseModel):
    """POST /auth/mfa/setup: a new secret for an authenticator app; sign-in asks for codes once it is verified."""

    model_config = ANSWER_CONFIG

    secret_code: str = Field(repr=False, description="The TOTP secret (base32), for typing into an app by hand.")
    otpauth_uri: str = Field(repr=False, description="The same secret as an otpauth:// URI, for a QR code.")
    message: str = "Add this secret to your authenticator app, then send its current code to POST /auth/mfa/verify."

"""What the auth logic needs from the identity provider (Cognito): its operations, results and refusals.

The logic depends on this port only; store.py implements it with boto3 and unit tests with a small fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Reason(StrEnum):
    """Why the identity provider refused a request. Values are Cognito's error codes (not secrets: S105 is noqa'd)."""

    USERNAME_EXISTS = "UsernameExistsException"
    INVALID_PASSWORD = "InvalidPasswordException"  # noqa: S105
    INVALID_PARAMETER = "InvalidParameterException"
    NOT_AUTHORIZED = "NotAuthorizedException"
    USER_NOT_FOUND = "UserNotFoundException"
    USER_NOT_CONFIRMED = "UserNotConfirmedException"
    PASSWORD_RESET_REQUIRED = "PasswordResetRequiredException"  # noqa: S105
    CODE_MISMATCH = "CodeMismatchException"
    EXPIRED_CODE = "ExpiredCodeException"
    TOO_MANY_REQUESTS = "TooManyRequestsException"
    LIMIT_EXCEEDED = "LimitExceededException"
    TOO_MANY_FAILED_ATTEMPTS = "TooManyFailedAttemptsException"
    CODE_DELIVERY_FAILURE = "CodeDeliveryFailureException"
    # VerifySoftwareToken's refusals: a code that does not match the new secret, or no secret set up yet.
    TOTP_NOT_ENABLED = "EnableSoftwareTokenMFAException"
    TOTP_NOT_SET_UP = "SoftwareTokenMFANotFoundException"
    # Not a Cognito error: sign-in asked for a further step (new password, SMS) that this API does not offer.
    CHALLENGE_REQUIRED = "ChallengeRequired"


class IdentityRefusal(Exception):
    """The identity provider said no, for a reason the API has an answer to.

    `message` is the provider's own text; it is shown to users only where it helps them (password policy).
    """

    def __init__(self, reason: Reason, message: str = "") -> None:
        super().__init__(f"{reason.value}: {message}" if message else reason.value)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class TokenSet:
    """Tokens of a signed-in user. A refresh does not issue a new refresh token, so it may be None."""

    id_token: str
    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 (the scheme name)
    refresh_token: str | None = None

    def __repr__(self) -> str:
        # Tokens are credentials: never in a log line, not even by accident.
        return f"TokenSet(expires_in={self.expires_in}, token_type={self.token_type!r})"


@dataclass(frozen=True)
class MfaChallenge:
    """Sign-in needs a code from the user's authenticator app; `session` ties the answer to this sign-in."""

    session: str

    def __repr__(self) -> str:
        # The session stands in for a correct password until it expires: kept out of logs like a token.
        return "MfaChallenge(session=***)"


class IdentityProvider(Protocol):
    """The user pool operations the /auth API uses: public Cognito APIs only, no admin ones."""

    def sign_up(self, email: str, password: str) -> None: ...

    def confirm_sign_up(self, email: str, code: str) -> None: ...

    def resend_confirmation_code(self, email: str) -> None: ...

    def sign_in(self, email: str, password: str) -> TokenSet | MfaChallenge: ...

    def answer_mfa_challenge(self, email: str, session: str, code: str) -> TokenSet: ...

    def refresh(self, refresh_token: str) -> TokenSet: ...

    def sign_out_everywhere(self, access_token: str) -> None: ...

    def forgot_password(self, email: str) -> None: ...

    def confirm_forgot_password(self, email: str, code: str, new_password: str) -> None: ...

    def email_of(self, access_token: str) -> str: ...

    def start_totp_setup(self, access_token: str) -> str: ...

    def confirm_totp(self, access_token: str, code: str) -> None: ...

    def set_totp_required_at_sign_in(self, access_token: str, required: bool) -> None: ...

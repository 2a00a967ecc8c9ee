"""What each /auth endpoint does, and how every refusal of the identity provider becomes an answer.

Answers never tell a stranger whether an address has an account: sign-up, resend-code and forgot-password answer
the same for every address, and sign-in answers a wrong password and an unknown address alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import NoReturn
from urllib.parse import quote, urlencode

from imgplat_common.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from imgplat_common.observability import MetricUnit, logger, metrics

from imgplat_auth.identity import IdentityProvider, IdentityRefusal, MfaChallenge, Reason
from imgplat_auth.password_policy import PasswordPolicy
from imgplat_auth.responses import Message, MfaRequired, Refreshed, SignedIn, TotpSetup

SIGN_UP_ACCEPTED = Message(message="If this address can be registered, a verification code has been sent.")
CODE_SENT = Message(message="If this address has an account waiting for verification, a new code has been sent.")
RESET_CODE_SENT = Message(message="If this address has an account, a code to reset the password has been sent.")
ACCOUNT_VERIFIED = Message(message="Account verified. You can sign in now.")
PASSWORD_CHANGED = Message(message="Password changed. You can sign in with the new password now.")
# What sign-out really does: API Gateway's authorizer cannot revoke an ID token, so the answer says so.
SIGNED_OUT = Message(
    message="Signed out: the refresh token and every access token of this account are revoked; an ID token already"
    " issued keeps working until it expires (its expires_in)."
)

TOTP_ENABLED = Message(message="Two-factor sign-in is on: every sign-in now asks for your authenticator app's code.")
TOTP_DISABLED = Message(message="Two-factor sign-in is off: sign-in asks for the password only.")
# The name authenticator apps show above the account's address.
TOTP_ISSUER = "Image Platform"


class ServiceUnavailable(ApiError):
    """A dependency could not do its part right now; the same request may work later."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "try_again_later"


Answer = Callable[[str], ApiError]  # Cognito's message -> the error the caller gets


def _invalid_code(_: str) -> ApiError:
    return BadRequest("The code is not valid or has expired. Ask for a new one and try again.", code="invalid_code")


def _invalid_credentials(_: str) -> ApiError:
    return Unauthorized("Incorrect email or password.", code="invalid_credentials")


def _session_expired(_: str) -> ApiError:
    message = "The sign-in session has expired or was already used. Sign in again with your password."
    return Unauthorized(message, code="session_expired")


def _new_secret_code_mismatch(_: str) -> ApiError:
    message = "The code does not match the new secret. Send the code your app shows now (check the device's clock)."
    return BadRequest(message, code="invalid_code")


def _too_many_requests(_: str) -> ApiError:
    return TooManyRequests("Too many attempts. Wait a few minutes and try again.")


# ---- Refusal -> answer: the one place where Cognito's refusals become HTTP answers. ----
# A reason missing from both the endpoint's table and the general one is nothing the caller can act on: the
# refusal propagates and the shared handler answers 500 with an error id.
GENERAL_ANSWERS: Mapping[Reason, Answer] = {
    Reason.INVALID_PASSWORD: lambda message: BadRequest(message, code="invalid_password"),
    Reason.INVALID_PARAMETER: lambda message: BadRequest(message, code="invalid_request"),
    Reason.NOT_AUTHORIZED: lambda _: Unauthorized("Not authorized.", code="not_authorized"),
    Reason.CODE_MISMATCH: _invalid_code,
    Reason.EXPIRED_CODE: _invalid_code,
    Reason.TOO_MANY_REQUESTS: _too_many_requests,
    Reason.LIMIT_EXCEEDED: _too_many_requests,
    Reason.TOO_MANY_FAILED_ATTEMPTS: _too_many_requests,
    Reason.CODE_DELIVERY_FAILURE: lambda _: ServiceUnavailable("The code could not be sent. Try again in a minute."),
}
# Endpoints' own answers. Verifying answers a wrong or expired code, an unknown address and an account already
# verified alike (Cognito refuses the last as NotAuthorized whatever the code): anything else would tell anyone
# which addresses have an account.
VERIFY_ANSWERS: Mapping[Reason, Answer] = dict.fromkeys(
    (Reason.USER_NOT_FOUND, Reason.NOT_AUTHORIZED, Reason.CODE_MISMATCH, Reason.EXPIRED_CODE),
    lambda _: BadRequest(
        "The code is not valid or has expired. Ask for a new one, or sign in if the account is already verified.",
        code="invalid_code",
    ),
)
SIGN_IN_ANSWERS: Mapping[Reason, Answer] = {
    Reason.NOT_AUTHORIZED: _invalid_credentials,
    Reason.USER_NOT_FOUND: _invalid_credentials,
    # Cognito says these only after a correct password, so they reveal nothing to a stranger.
    Reason.USER_NOT_CONFIRMED: lambda _: Forbidden(
        "Verify your email address first (POST /auth/verify, or /auth/resend-code for a new code).",
        code="not_confirmed",
    ),
    Reason.PASSWORD_RESET_REQUIRED: lambda _: Forbidden(
        "This account's password must be reset (POST /auth/forgot-password).", code="password_reset_required"
    ),
    Reason.CHALLENGE_REQUIRED: lambda _: Forbidden(
        "This account needs a sign-in step this API does not offer. Contact support.", code="sign_in_step_required"
    ),
}
REFRESH_ANSWERS: Mapping[Reason, Answer] = {
    Reason.NOT_AUTHORIZED: lambda _: Unauthorized(
        "The refresh token is not valid, has expired or was revoked. Sign in again.", code="invalid_token"
    ),
}
SIGN_OUT_ANSWERS: Mapping[Reason, Answer] = {
    Reason.NOT_AUTHORIZED: lambda _: Unauthorized(
        "The access token is not valid, has expired or was already signed out.", code="invalid_token"
    ),
}
# The sign-in's second step. Cognito says "not authorized" for a session that expired, was used or is another user's.
MFA_SIGN_IN_ANSWERS: Mapping[Reason, Answer] = {
    Reason.CODE_MISMATCH: lambda _: Unauthorized(
        "The code is not right. Send the code your authenticator app shows now (check the device's clock).",
        code="invalid_mfa_code",
    ),
    # A code that was right once and already used.
    Reason.EXPIRED_CODE: lambda _: Unauthorized(
        "This code was already used. Wait for the next one and send it.", code="invalid_mfa_code"
    ),
    Reason.NOT_AUTHORIZED: _session_expired,
    Reason.USER_NOT_FOUND: _session_expired,
}
# Setting up, confirming or turning off TOTP: the access token is the only credential.
TOTP_SETUP_ANSWERS: Mapping[Reason, Answer] = {
    **SIGN_OUT_ANSWERS,
    Reason.CODE_MISMATCH: _new_secret_code_mismatch,
    Reason.TOTP_NOT_ENABLED: _new_secret_code_mismatch,
    Reason.TOTP_NOT_SET_UP: lambda _: Conflict(
        "No authenticator app is being set up. Start with POST /auth/mfa/setup.", code="mfa_not_set_up"
    ),
}
CONFIRM_FORGOT_PASSWORD_ANSWERS: Mapping[Reason, Answer] = {
    Reason.USER_NOT_FOUND: _invalid_code,
}
# Refusals that would tell whether an address has an account (or in which state): answered like a success.
SIGN_UP_IGNORES = frozenset({Reason.USERNAME_EXISTS})
RESEND_CODE_IGNORES = frozenset({Reason.USER_NOT_FOUND, Reason.INVALID_PARAMETER})
FORGOT_PASSWORD_IGNORES = frozenset({Reason.USER_NOT_FOUND, Reason.INVALID_PARAMETER, Reason.NOT_AUTHORIZED})


def answer_for(refusal: IdentityRefusal, endpoint_answers: Mapping[Reason, Answer] | None = None) -> ApiError | None:
    """The error the caller gets for `refusal`: the endpoint's own answer, else the general one; None if neither."""
    answer = (endpoint_answers or {}).get(refusal.reason) or GENERAL_ANSWERS.get(refusal.reason)
    return answer(refusal.message) if answer else None


def _raise_answer(refusal: IdentityRefusal, endpoint_answers: Mapping[Reason, Answer] | None = None) -> NoReturn:
    """Raise the caller's answer to `refusal`, or the refusal itself when there is none (the shared 500)."""
    answer = answer_for(refusal, endpoint_answers)
    if answer is None:
        raise refusal
    raise answer from refusal


@contextmanager
def _answering(endpoint_answers: Mapping[Reason, Answer] | None = None) -> Iterator[None]:
    """Turn a refusal of the provider inside the block into the caller's answer (or the shared 500)."""
    try:
        yield
    except IdentityRefusal as refusal:
        _raise_answer(refusal, endpoint_answers)


@contextmanager
def _hiding_account_state(ignored: Collection[Reason], operation: str) -> Iterator[None]:
    """As _answering, except that the `ignored` refusals are answered like a success: they would tell account state."""
    try:
        yield
    except IdentityRefusal as refusal:
        if refusal.reason not in ignored:
            _raise_answer(refusal)
        # Info, not warning: this is expected traffic. No address in the log, only what happened.
        extra = {"operation": operation, "reason": refusal.reason}
        logger.info("answered as accepted to hide account state", extra=extra)


def _check_password(policy: PasswordPolicy, password: str) -> None:
    violation = policy.violation(password)
    if violation:
        raise BadRequest(violation, code="invalid_password")


# ---- The endpoints' behaviour. ----


def sign_up(provider: IdentityProvider, policy: PasswordPolicy, email: str, password: str) -> Message:
    """Register `email` and have Cognito send it a verification code; silent about addresses already registered."""
    _check_password(policy, password)
    with _hiding_account_state(SIGN_UP_IGNORES, "sign_up"):
        provider.sign_up(email, password)
    metrics.add_metric(name="SignUpsAccepted", unit=MetricUnit.Count, value=1)
    return SIGN_UP_ACCEPTED


def verify(provider: IdentityProvider, email: str, code: str) -> Message:
    """Confirm the account of `email` with the code Cognito emailed."""
    with _answering(VERIFY_ANSWERS):
        provider.confirm_sign_up(email, code)
    return ACCOUNT_VERIFIED


def resend_code(provider: IdentityProvider, email: str) -> Message:
    """Send a new verification code, when `email` has an unverified account; silent otherwise."""
    with _hiding_account_state(RESEND_CODE_IGNORES, "resend_code"):
        provider.resend_confirmation_code(email)
    return CODE_SENT


def sign_in(provider: IdentityProvider, email: str, password: str) -> SignedIn | MfaRequired:
    """The tokens of a verified account whose password is right; a session for the code if it turned on TOTP."""
    try:
        tokens = provider.sign_in(email, password)
    except IdentityRefusal as refusal:
        metrics.add_metric(name="SignInsRefused", unit=MetricUnit.Count, value=1)
        _raise_answer(refusal, SIGN_IN_ANSWERS)
    if isinstance(tokens, MfaChallenge):
        metrics.add_metric(name="SignInsChallenged", unit=MetricUnit.Count, value=1)
        return MfaRequired.of(tokens)
    metrics.add_metric(name="SignInsSucceeded", unit=MetricUnit.Count, value=1)
    return SignedIn.of(tokens)


def answer_mfa_challenge(provider: IdentityProvider, email: str, session: str, code: str) -> SignedIn:
    """The tokens of a sign-in that asked for a TOTP code, for the app's current code."""
    try:
        tokens = provider.answer_mfa_challenge(email, session, code)
    except IdentityRefusal as refusal:
        metrics.add_metric(name="SignInsRefused", unit=MetricUnit.Count, value=1)
        _raise_answer(refusal, MFA_SIGN_IN_ANSWERS)
    metrics.add_metric(name="SignInsSucceeded", unit=MetricUnit.Count, value=1)
    return SignedIn.of(tokens)


def _require_mfa_offered(mfa_offered: bool) -> None:
    if not mfa_offered:
        raise NotFound("This deployment does not offer two-factor sign-in.", code="mfa_not_offered")


def otpauth_uri(secret: str, account: str) -> str:
    """The otpauth:// URI authenticator apps read from a QR code; the format's defaults (6 digits every 30 s, SHA-1)
    are what Cognito uses, so the URI leaves them out."""
    label = quote(f"{TOTP_ISSUER}:{account}")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": TOTP_ISSUER}, quote_via=quote)


def start_totp_setup(provider: IdentityProvider, mfa_offered: bool, access_token: str) -> TotpSetup:
    """A new TOTP secret for the signed-in user; sign-in asks for codes only after confirm_totp."""
    _require_mfa_offered(mfa_offered)
    with _answering(TOTP_SETUP_ANSWERS):
        account = provider.email_of(access_token)
        secret = provider.start_totp_setup(access_token)
    return TotpSetup(secret_code=secret, otpauth_uri=otpauth_uri(secret, account))


def confirm_totp(provider: IdentityProvider, mfa_offered: bool, access_token: str, code: str) -> Message:
    """Check the app's code against the new secret, then have every sign-in of this user ask for a code."""
    _require_mfa_offered(mfa_offered)
    with _answering(TOTP_SETUP_ANSWERS):
        provider.confirm_totp(access_token, code)
        provider.set_totp_required_at_sign_in(access_token, required=True)
    metrics.add_metric(name="TotpEnabled", unit=MetricUnit.Count, value=1)
    return TOTP_ENABLED


def disable_totp(provider: IdentityProvider, mfa_offered: bool, access_token: str) -> Message:
    """Sign-in asks for the password only again."""
    _require_mfa_offered(mfa_offered)
    with _answering(TOTP_SETUP_ANSWERS):
        provider.set_totp_required_at_sign_in(access_token, required=False)
    metrics.add_metric(name="TotpDisabled", unit=MetricUnit.Count, value=1)
    return TOTP_DISABLED


def refresh(provider: IdentityProvider, refresh_token: str) -> Refreshed:
    """New ID and access tokens for a valid refresh token."""
    with _answering(REFRESH_ANSWERS):
        tokens = provider.refresh(refresh_token)
    return Refreshed.of(tokens)


def sign_out(provider: IdentityProvider, access_token: str) -> Message:
    """Revoke every token of the account the access token belongs to, on every device."""
    with _answering(SIGN_OUT_ANSWERS):
        provider.sign_out_everywhere(access_token)
    return SIGNED_OUT


def forgot_password(provider: IdentityProvider, email: str) -> Message:
    """Email a password reset code, when `email` has an account; silent otherwise."""
    with _hiding_account_state(FORGOT_PASSWORD_IGNORES, "forgot_password"):
        provider.forgot_password(email)
    return RESET_CODE_SENT


def confirm_forgot_password(
    provider: IdentityProvider, policy: PasswordPolicy, email: str, code: str, new_password: str
) -> Message:
    """Set a new password with the reset code Cognito emailed."""
    _check_password(policy, new_password)
    with _answering(CONFIRM_FORGOT_PASSWORD_ANSWERS):
        provider.confirm_forgot_password(email, code, new_password)
    return PASSWORD_CHANGED

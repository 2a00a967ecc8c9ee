"""Cognito calls the platform makes that moto 5.2.x lacks or answers unlike Cognito, answered as Cognito would.

Only the emulator is patched; the handlers call the real API names. Used by the local platform and in-process tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cognitoidp.exceptions import CodeMismatchException, NotAuthorizedError, UserNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool, UserStatus
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult

MOTOS_RESPOND_TO_AUTH_CHALLENGE = CognitoIdpBackend.respond_to_auth_challenge
MOTOS_CREATE_JWT = CognitoIdpUserPool.create_jwt
MOTOS_CONFIRM_SIGN_UP = CognitoIdpBackend.confirm_sign_up
MOTOS_CONFIRM_FORGOT_PASSWORD = CognitoIdpBackend.confirm_forgot_password
SECONDS_PER_UNIT = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _resend_confirmation_code(self: CognitoIdpResponse) -> ActionResult:
    """ResendConfirmationCode: no e-mail exists locally, so there is nothing to send; the answer says where it went.

    With PreventUserExistenceErrors, Cognito answers the same for unknown users, and so does this.
    """
    return ActionResult(
        {"CodeDeliveryDetails": {"Destination": "l***@l***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}}
    )


def _respond_to_auth_challenge(
    self: CognitoIdpBackend, session: str, client_id: str, challenge_name: str, challenge_responses: dict[str, str]
) -> dict[str, Any]:
    """RespondToAuthChallenge for a TOTP code: a session that is unknown, already used or another user's is refused
    with NotAuthorizedException, as Cognito does (moto answers ResourceNotFound, or signs in whoever is named)."""
    if challenge_name == "SOFTWARE_TOKEN_MFA":
        signing_in, pool = self.sessions.get(session, (None, None))
        if pool is None or not _same_user(self, pool.id, signing_in, challenge_responses.get("USERNAME")):
            raise NotAuthorizedError("Invalid session for the user, session is expired.")
    return MOTOS_RESPOND_TO_AUTH_CHALLENGE(self, session, client_id, challenge_name, challenge_responses)


def _confirm_sign_up(self: CognitoIdpBackend, client_id: str, username: str) -> str:
    """ConfirmSignUp of an account already confirmed is refused, as Cognito refuses it (moto confirms it again)."""
    for pool in self.user_pools.values():
        if client_id in pool.clients:
            user = pool._get_user(username)  # moto's own lookup, by username or e-mail alias
            if user is not None and user.status == UserStatus.CONFIRMED:
                raise NotAuthorizedError("User cannot be confirmed. Current status is CONFIRMED")
    return MOTOS_CONFIRM_SIGN_UP(self, client_id, username)


def _confirm_forgot_password(
    self: CognitoIdpBackend, client_id: str, username: str, password: str, confirmation_code: str
) -> None:
    """ConfirmForgotPassword for an address with no account is a wrong code, as Cognito answers it with
    PreventUserExistenceErrors (moto answers ResourceNotFound, which no caller of the real API ever sees)."""
    pools = [pool for pool in self.user_pools.values() if client_id in pool.clients]
    if pools and all(pool._get_user(username) is None for pool in pools):
        raise CodeMismatchException("Invalid code provided, please try again.")
    MOTOS_CONFIRM_FORGOT_PASSWORD(self, client_id, username, password, confirmation_code)


def _create_jwt(  # noqa: PLR0917 - moto's own signature, which it calls positionally
    self: CognitoIdpUserPool,
    client_id: str,
    username: str,
    token_use: str,
    expires_in: int = 3600,
    extra_data: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """An ID or access token that lives as long as the app client says (IdTokenValidity, AccessTokenValidity and
    TokenValidityUnits, as Cognito reads them; hours when no unit is given): moto makes every token live an hour."""
    client = self.clients.get(client_id)
    kind = {"id": "IdToken", "access": "AccessToken"}.get(token_use)
    config = client.extended_config if client is not None else {}
    validity = config.get(f"{kind}Validity") if kind else None
    if validity:
        unit = (config.get("TokenValidityUnits") or {}).get(kind, "hours")
        expires_in = int(validity) * SECONDS_PER_UNIT[unit]
    return MOTOS_CREATE_JWT(self, client_id, username, token_use, expires_in, extra_data)


def _same_user(backend: CognitoIdpBackend, pool_id: str, username: str | None, other: str | None) -> bool:
    if username is None or other is None:
        return False
    try:
        return backend.admin_get_user(pool_id, username) is backend.admin_get_user(pool_id, other)
    except UserNotFoundError:
        return False


@contextmanager
def cognito_gaps_filled() -> Iterator[None]:
    """moto with the gaps above filled (tokens live as long as the app client says), and TOTP codes checked as
    Cognito checks them (moto's default accepts any code). moto gives every user one fixed secret, the one
    AssociateSoftwareToken returns: codes from it pass."""
    with (
        mock.patch.object(CognitoIdpResponse, "resend_confirmation_code", _resend_confirmation_code, create=True),
        mock.patch.object(CognitoIdpBackend, "respond_to_auth_challenge", _respond_to_auth_challenge),
        mock.patch.object(CognitoIdpUserPool, "create_jwt", _create_jwt),
        mock.patch.object(CognitoIdpBackend, "confirm_sign_up", _confirm_sign_up),
        mock.patch.object(CognitoIdpBackend, "confirm_forgot_password", _confirm_forgot_password),
        mock.patch("moto.cognitoidp.models.get_cognito_idp_user_pool_enable_totp", return_value=True),
    ):
        yield

"""The auth service's only boto3 code: the Cognito user pool behind the IdentityProvider port.

Only public (non-admin) user pool APIs are called; they are authorised by the app client id, not by IAM, so the
function's role needs no Cognito permission at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError
from imgplat_common.aws_errors import error_code, error_message
from imgplat_common.settings import load_settings

from imgplat_auth.identity import IdentityRefusal, Reason, TokenSet
from imgplat_auth.settings import AuthSettings

KNOWN_REASONS = {reason.value: reason for reason in Reason}


@contextmanager
def _refusals_translated() -> Iterator[None]:
    """Cognito errors the API has an answer for become IdentityRefusal; any other error propagates as it is."""
    try:
        yield
    except ClientError as error:
        reason = KNOWN_REASONS.get(error_code(error))
        if reason is None:
            raise
        raise IdentityRefusal(reason, error_message(error)) from error


class CognitoIdentityProvider:
    """The user pool, reached through one app client (no client secret)."""

    def __init__(self, client: Any, client_id: str) -> None:
        self._client = client
        self._client_id = client_id

    def sign_up(self, email: str, password: str) -> None:
        """Create an unconfirmed account; Cognito emails the verification code."""
        with _refusals_translated():
            self._client.sign_up(ClientId=self._client_id, Username=email, Password=password)

    def confirm_sign_up(self, email: str, code: str) -> None:
        """Confirm an account with the emailed code."""
        with _refusals_translated():
            self._client.confirm_sign_up(ClientId=self._client_id, Username=email, ConfirmationCode=code)

    def resend_confirmation_code(self, email: str) -> None:
        """Email a new verification code."""
        with _refusals_translated():
            self._client.resend_confirmation_code(ClientId=self._client_id, Username=email)

    def sign_in(self, email: str, password: str) -> TokenSet:
        """Tokens for a correct email and password (USER_PASSWORD_AUTH)."""
        return self._authenticate("USER_PASSWORD_AUTH", {"USERNAME": email, "PASSWORD": password})

    def refresh(self, refresh_token: str) -> TokenSet:
        """New ID and access tokens (REFRESH_TOKEN_AUTH); the refresh token stays the same."""
        return self._authenticate("REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token})

    def sign_out_everywhere(self, access_token: str) -> None:
        """Revoke every token of the access token's user (GlobalSignOut)."""
        with _refusals_translated():
            self._client.global_sign_out(AccessToken=access_token)

    def forgot_password(self, email: str) -> None:
        """Email a password reset code."""
        with _refusals_translated():
            self._client.forgot_password(ClientId=self._client_id, Username=email)

    def confirm_forgot_password(self, email: str, code: str, new_password: str) -> None:
        """Set a new password with the emailed reset code."""
        with _refusals_translated():
            self._client.confirm_forgot_password(
                ClientId=self._client_id, Username=email, ConfirmationCode=code, Password=new_password
            )

    def _authenticate(self, flow: str, parameters: dict[str, str]) -> TokenSet:
        with _refusals_translated():
            answer = self._client.initiate_auth(ClientId=self._client_id, AuthFlow=flow, AuthParameters=parameters)
        if "AuthenticationResult" not in answer:
            # A challenge (new password, MFA) instead of tokens: the pool is not set up for them, so an admin made it.
            raise IdentityRefusal(Reason.CHALLENGE_REQUIRED, str(answer.get("ChallengeName", "")))
        result = answer["AuthenticationResult"]
        return TokenSet(
            id_token=result["IdToken"],
            access_token=result["AccessToken"],
            expires_in=int(result["ExpiresIn"]),
            token_type=result.get("TokenType", "Bearer"),
            refresh_token=result.get("RefreshToken"),
        )


@cache
def identity_provider() -> CognitoIdentityProvider:
    """The user pool of this container's settings; its client is made once per container, on first use."""
    return CognitoIdentityProvider(boto3.client("cognito-idp"), load_settings(AuthSettings).user_pool_client_id)

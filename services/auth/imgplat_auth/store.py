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
from imgplat_common.snapstart import renew_after_restore

from imgplat_auth.identity import IdentityRefusal, MfaChallenge, Reason, TokenSet
from imgplat_auth.settings import AuthSettings

KNOWN_REASONS = {reason.value: reason for reason in Reason}
TOTP_CHALLENGE = "SOFTWARE_TOKEN_MFA"


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

    def sign_in(self, email: str, password: str) -> TokenSet | MfaChallenge:
        """Tokens for a correct email and password (USER_PASSWORD_AUTH), or the TOTP challenge of a user with TOTP."""
        answer = self._initiate_auth("USER_PASSWORD_AUTH", {"USERNAME": email, "PASSWORD": password})
        if answer.get("ChallengeName") == TOTP_CHALLENGE:
            return MfaChallenge(session=answer["Session"])
        return _tokens_of(answer)

    def answer_mfa_challenge(self, email: str, session: str, code: str) -> TokenSet:
        """Tokens for the current code of the user's authenticator app, within the sign-in's session."""
        with _refusals_translated():
            answer = self._client.respond_to_auth_challenge(
                ClientId=self._client_id,
                ChallengeName=TOTP_CHALLENGE,
                Session=session,
                ChallengeResponses={"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": code},
            )
        return _tokens_of(answer)

    def refresh(self, refresh_token: str) -> TokenSet:
        """New ID and access tokens (REFRESH_TOKEN_AUTH); the refresh token stays the same."""
        answer = self._initiate_auth("REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token})
        return _tokens_of(answer)

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

    def email_of(self, access_token: str) -> str:
        """The address of the access token's user (GetUser): the account name an authenticator app shows."""
        with _refusals_translated():
            user = self._client.get_user(AccessToken=access_token)
        attributes = {attribute["Name"]: attribute["Value"] for attribute in user["UserAttributes"]}
        return str(attributes.get("email") or user["Username"])

    def start_totp_setup(self, access_token: str) -> str:
        """A new TOTP secret for the access token's user (AssociateSoftwareToken); it counts once confirmed."""
        with _refusals_translated():
            return str(self._client.associate_software_token(AccessToken=access_token)["SecretCode"])

    def confirm_totp(self, access_token: str, code: str) -> None:
        """Prove the authenticator app holds the new secret (VerifySoftwareToken)."""
        with _refusals_translated():
            answer = self._client.verify_software_token(AccessToken=access_token, UserCode=code)
        if answer.get("Status") != "SUCCESS":
            raise IdentityRefusal(Reason.CODE_MISMATCH, "The code does not match the new secret.")

    def set_totp_required_at_sign_in(self, access_token: str, required: bool) -> None:
        """Whether sign-in asks for a TOTP code (SetUserMFAPreference; TOTP is the only second factor offered)."""
        settings = {"Enabled": required, "PreferredMfa": required}
        with _refusals_translated():
            self._client.set_user_mfa_preference(AccessToken=access_token, SoftwareTokenMfaSettings=settings)

    def _initiate_auth(self, flow: str, parameters: dict[str, str]) -> dict[str, Any]:
        with _refusals_translated():
            answer: dict[str, Any] = self._client.initiate_auth(
                ClientId=self._client_id, AuthFlow=flow, AuthParameters=parameters
            )
        return answer


def _tokens_of(answer: dict[str, Any]) -> TokenSet:
    """The tokens of an InitiateAuth or RespondToAuthChallenge answer."""
    if "AuthenticationResult" not in answer:
        # Another challenge (new password, SMS): the pool offers none of them, so an admin made it.
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


# With SnapStart each restored environment makes its own clients (imgplat_common/snapstart.py).
renew_after_restore(identity_provider)

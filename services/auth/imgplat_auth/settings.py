"""The auth service's settings, read from the function's environment (serverless.yml sets every one of them)."""

from __future__ import annotations

from typing import Literal

from imgplat_common.settings import PlatformSettings


class AuthSettings(PlatformSettings):
    """Env USER_POOL_ID, USER_POOL_CLIENT_ID, PASSWORD_MINIMUM_LENGTH and MFA."""

    user_pool_id: str
    user_pool_client_id: str
    # The pool's own MinimumLength (serverless.yml's param feeds both, so it has no default here), checked here
    # before Cognito is asked.
    password_minimum_length: int
    # The pool's MfaConfiguration, from the same param: "optional" lets each user turn on TOTP (/auth/mfa/*).
    mfa: Literal["off", "optional"]

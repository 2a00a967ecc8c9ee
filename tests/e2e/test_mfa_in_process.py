"""Optional TOTP MFA end to end: every service deployed from its own definition into moto, in process, the user
pool configured by services/auth/serverless.yml (MFA optional, TOTP), codes checked as Cognito checks them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.authenticator import authenticator_code
from local.platform import LocalPlatform

pytestmark = pytest.mark.e2e
EMAIL = "dana@example.com"
PASSWORD = "Correct-Horse-9-Battery"


def call(
    platform: LocalPlatform, method: str, url: str, body: Any = None, *, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    answer = platform.request(method, url, headers, json.dumps(body) if body is not None else None)
    return answer["statusCode"], json.loads(answer.get("body") or "null")


def test_a_user_turns_on_totp_and_from_then_on_signs_in_with_the_apps_code(platform):
    # Given a verified account signed in with its password
    assert call(platform, "POST", "/auth/signup", {"email": EMAIL, "password": PASSWORD})[0] == 202
    assert call(platform, "POST", "/auth/verify", {"email": EMAIL, "code": "123456"})[0] == 200
    status, tokens = call(platform, "POST", "/auth/signin", {"email": EMAIL, "password": PASSWORD})
    assert status == 200, tokens

    # When it sets up an authenticator app and confirms the app's code
    status, setup = call(platform, "POST", "/auth/mfa/setup", token=tokens["access_token"])
    assert status == 200, setup
    secret = setup["secret_code"]
    assert setup["otpauth_uri"].startswith("otpauth://totp/") and f"secret={secret}" in setup["otpauth_uri"]
    code = {"access_token": tokens["access_token"], "code": authenticator_code(secret)}
    assert call(platform, "POST", "/auth/mfa/verify", code)[0] == 200

    # And signs out
    assert call(platform, "POST", "/auth/signout", token=tokens["access_token"])[0] == 200

    # Then the password alone no longer gives tokens: it gives a session for the code
    status, challenge = call(platform, "POST", "/auth/signin", {"email": EMAIL, "password": PASSWORD})
    assert (status, challenge["challenge"]) == (202, "SOFTWARE_TOKEN_MFA")
    assert "id_token" not in challenge

    # And the app's code with that session gives tokens the platform's APIs accept
    answer = {"email": EMAIL, "session": challenge["session"], "code": authenticator_code(secret)}
    status, signed_in = call(platform, "POST", "/auth/signin/mfa", answer)
    assert status == 200, signed_in
    status, page = call(platform, "GET", "/images", token=signed_in["id_token"])
    assert (status, page["items"]) == (200, [])

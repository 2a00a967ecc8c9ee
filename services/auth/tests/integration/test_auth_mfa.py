"""Optional TOTP MFA through the /auth handler, on a moto user pool configured like serverless.yml (codes checked)."""

from __future__ import annotations

import time

import pytest

from local.authenticator import PERIOD_SECONDS, authenticator_code

EMAIL = "carol@example.com"
PASSWORD = "Correct-Horse-7"


def _signed_in(call_api) -> dict:
    assert call_api("/auth/signup", {"email": EMAIL, "password": PASSWORD}).status == 202
    assert call_api("/auth/verify", {"email": EMAIL, "code": "123456"}).status == 200
    answer = call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD})
    assert answer.status == 200, answer.body
    return answer.body


def _with_totp_on(call_api) -> str:
    """Sign up, sign in, set up TOTP and confirm it; the secret the authenticator app holds."""
    access_token = _signed_in(call_api)["access_token"]
    setup = call_api("/auth/mfa/setup", None, headers={"Authorization": f"Bearer {access_token}"})
    assert setup.status == 200, setup.body
    secret = setup.body["secret_code"]
    confirmed = call_api("/auth/mfa/verify", {"access_token": access_token, "code": authenticator_code(secret)})
    assert confirmed.status == 200, confirmed.body
    return secret


def _wrong_code(secret: str) -> str:
    """A code the app showed long ago: well formed, never valid now."""
    return authenticator_code(secret, time.time() - 100 * PERIOD_SECONDS)


def test_setup_answers_a_secret_the_app_reads_from_an_otpauth_uri(user_pool, call_api):
    access_token = _signed_in(call_api)["access_token"]
    setup = call_api("/auth/mfa/setup", {"access_token": access_token})
    assert setup.status == 200
    assert setup.headers["Cache-Control"] == "no-store"
    secret = setup.body["secret_code"]
    assert setup.body["otpauth_uri"] == (
        f"otpauth://totp/Image%20Platform%3Acarol%40example.com?secret={secret}&issuer=Image%20Platform"
    )
    # Until a code is confirmed, sign-in still answers tokens
    assert call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD}).status == 200


def test_with_totp_on_sign_in_is_a_challenge_and_the_apps_code_gives_the_tokens(user_pool, call_api):
    secret = _with_totp_on(call_api)
    # When the user signs in with the right password, Then no token yet: a session for the code
    challenged = call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD})
    assert challenged.status == 202
    assert challenged.body["challenge"] == "SOFTWARE_TOKEN_MFA"
    assert "id_token" not in challenged.body
    session = challenged.body["session"]
    # When it sends a wrong code, Then 401 invalid_mfa_code
    wrong = call_api("/auth/signin/mfa", {"email": EMAIL, "session": session, "code": _wrong_code(secret)})
    assert (wrong.status, wrong.body["error"]["code"]) == (401, "invalid_mfa_code")
    # When it sends the app's current code, Then it gets every token
    signed_in = call_api("/auth/signin/mfa", {"email": EMAIL, "session": session, "code": authenticator_code(secret)})
    assert signed_in.status == 200, signed_in.body
    assert {"id_token", "access_token", "refresh_token"} <= set(signed_in.body)
    # And the session cannot sign in a second time
    again = call_api("/auth/signin/mfa", {"email": EMAIL, "session": session, "code": authenticator_code(secret)})
    assert (again.status, again.body["error"]["code"]) == (401, "session_expired")


def test_a_session_answered_for_another_account_signs_in_nobody(user_pool, call_api):
    # Given Carol's sign-in session, and Mallory's own account
    secret = _with_totp_on(call_api)
    session = call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD}).body["session"]
    assert call_api("/auth/signup", {"email": "mallory@example.com", "password": PASSWORD}).status == 202
    assert call_api("/auth/verify", {"email": "mallory@example.com", "code": "123456"}).status == 200
    # When the session and a good code are sent with Mallory's address, Then nobody is signed in
    other = {"email": "mallory@example.com", "session": session, "code": authenticator_code(secret)}
    answer = call_api("/auth/signin/mfa", other)
    assert (answer.status, answer.body["error"]["code"]) == (401, "session_expired")


def test_a_wrong_code_at_setup_leaves_sign_in_without_mfa(user_pool, call_api):
    access_token = _signed_in(call_api)["access_token"]
    secret = call_api("/auth/mfa/setup", {"access_token": access_token}).body["secret_code"]
    refused = call_api("/auth/mfa/verify", {"access_token": access_token, "code": _wrong_code(secret)})
    assert (refused.status, refused.body["error"]["code"]) == (400, "invalid_code")
    assert call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD}).status == 200


def test_disabling_totp_gives_tokens_for_the_password_again(user_pool, call_api):
    secret = _with_totp_on(call_api)
    session = call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD}).body["session"]
    tokens = call_api("/auth/signin/mfa", {"email": EMAIL, "session": session, "code": authenticator_code(secret)})
    disabled = call_api("/auth/mfa/disable", {"access_token": tokens.body["access_token"]})
    assert disabled.status == 200, disabled.body
    assert call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD}).status == 200


@pytest.mark.parametrize("path", ["/auth/mfa/setup", "/auth/mfa/disable"])
def test_totp_routes_without_a_valid_access_token_are_401(user_pool, call_api, path):
    assert call_api(path, None).status == 401
    answer = call_api(path, {"access_token": "not-a-token"})
    assert (answer.status, answer.body["error"]["code"]) == (401, "invalid_token")


def test_totp_routes_of_a_deployment_without_mfa_are_404(user_pool, call_api, monkeypatch):
    from imgplat_common.settings import load_settings

    monkeypatch.setenv("MFA", "off")
    load_settings.cache_clear()
    answer = call_api("/auth/mfa/setup", {"access_token": "any"})
    assert (answer.status, answer.body["error"]["code"]) == (404, "mfa_not_offered")


def test_mfa_bodies_refuse_unknown_fields(user_pool, call_api):
    answer = call_api("/auth/signin/mfa", {"email": EMAIL, "session": "s" * 20, "code": "123456", "extra": 1})
    assert answer.status == 400


@pytest.mark.parametrize("code", ["00", "1234567", "12345a", "١٢٣٤٥٦"])
def test_a_code_that_is_not_6_digits_is_a_clear_400_before_cognito_is_asked(user_pool, call_api, code):
    access_token = _signed_in(call_api)["access_token"]
    for path, body in (
        ("/auth/mfa/verify", {"access_token": access_token, "code": code}),
        ("/auth/signin/mfa", {"email": EMAIL, "session": "s" * 20, "code": code}),
    ):
        answer = call_api(path, body)
        assert (answer.status, answer.body["error"]["code"]) == (400, "invalid_request"), (path, answer.body)


@pytest.mark.parametrize(("session", "bound"), [("nope", "at least 20"), ("s" * 3000, "at most 2048")])
def test_a_session_of_the_wrong_length_is_said_in_characters(user_pool, call_api, session, bound):
    # Given a session that cannot be Cognito's (it is kept secret, so pydantic measures it like a list of items)
    answer = call_api("/auth/signin/mfa", {"email": EMAIL, "session": session, "code": "123456"})
    # Then the problem names the field and its bound in characters, and never echoes the session
    assert answer.status == 400
    (problem,) = answer.body["error"]["fields"]
    assert problem == {"field": "session", "problem": f"Should have {bound} characters."}

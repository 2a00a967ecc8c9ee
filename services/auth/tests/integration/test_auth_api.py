"""The /auth API through its Lambda handler, on a moto user pool configured like serverless.yml."""

from __future__ import annotations

import jwt
import pytest
from imgplat_auth.identity import Reason

EMAIL = "Alice@Example.com"
PASSWORD = "Correct-Horse-7"


def _signed_up_and_verified(call_api, email: str = EMAIL, password: str = PASSWORD) -> None:
    assert call_api("/auth/signup", {"email": email, "password": password}).status == 202
    assert call_api("/auth/verify", {"email": email, "code": "123456"}).status == 200


def _signed_in(call_api, email: str = EMAIL, password: str = PASSWORD) -> dict:
    answer = call_api("/auth/signin", {"email": email, "password": password})
    assert answer.status == 200, answer.body
    return answer.body


# --- the happy path, end to end ---


def test_sign_up_verify_sign_in_refresh_sign_out(user_pool, call_api):
    # Given a new address, When it signs up
    signed_up = call_api("/auth/signup", {"email": EMAIL, "password": PASSWORD})
    # Then the answer promises a code without saying whether the account is new
    assert signed_up.status == 202
    assert signed_up.body == {"message": "If this address can be registered, a verification code has been sent."}

    # When it signs in before verifying, Then it is told to verify first (after a correct password only)
    assert call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD}).body["error"]["code"] == "not_confirmed"

    # When it verifies with the emailed code
    verified = call_api("/auth/verify", {"email": EMAIL, "code": "123456"})
    assert (verified.status, verified.body) == (200, {"message": "Account verified. You can sign in now."})

    # Then it can sign in, and gets an ID token for the platform's APIs
    tokens = _signed_in(call_api)
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type", "send_as"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["send_as"] == "Authorization: Bearer <id_token>"
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert (id_claims["token_use"], id_claims["aud"], id_claims["email"]) == ("id", user_pool.client_id, EMAIL.lower())

    # And the tokens live as long as serverless.yml's app client says (15 minutes), not moto's default hour
    access_claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert tokens["expires_in"] == 15 * 60
    assert id_claims["exp"] - id_claims["iat"] == access_claims["exp"] - access_claims["iat"] == 15 * 60

    # When it refreshes, Then it gets new ID and access tokens (the refresh token stays the client's)
    refreshed = call_api("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert refreshed.status == 200
    assert set(refreshed.body) == {"id_token", "access_token", "expires_in", "token_type"}

    # When it signs out with the access token as a Bearer header (and no body)
    signed_out = call_api("/auth/signout", None, headers={"Authorization": f"Bearer {refreshed.body['access_token']}"})
    assert signed_out.status == 200
    # Then the refresh token is revoked and the access token no longer signs out
    assert call_api("/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status == 401
    again = call_api("/auth/signout", {"access_token": refreshed.body["access_token"]})
    assert (again.status, again.body["error"]["code"]) == (401, "invalid_token")


def test_email_is_case_insensitive(user_pool, call_api):
    _signed_up_and_verified(call_api, "Bob@Example.COM")
    assert _signed_in(call_api, "bob@example.com")["token_type"] == "Bearer"


def test_token_answers_are_never_cached(user_pool, call_api):
    _signed_up_and_verified(call_api)
    answer = call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD})
    assert answer.headers["Cache-Control"] == "no-store"


def test_answers_carry_cors_headers(user_pool, call_api):
    answer = call_api("/auth/signup", {"email": EMAIL, "password": PASSWORD}, headers={"Origin": "https://app.test"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


# --- sign-up and verification errors ---


def test_weak_password_is_400_invalid_password_with_the_policy_message(user_pool, call_api):
    answer = call_api("/auth/signup", {"email": EMAIL, "password": "alllowercase-1"})
    assert answer.status == 400
    assert answer.body["error"] == {
        "code": "invalid_password",
        "message": "Password did not conform with policy: Password must have uppercase characters",
    }


def test_verifying_an_unknown_address_is_invalid_code(user_pool, call_api):
    answer = call_api("/auth/verify", {"email": "nobody@example.com", "code": "123456"})
    assert (answer.status, answer.body["error"]["code"]) == (400, "invalid_code")


def test_verifying_a_verified_account_answers_as_for_an_unknown_address(user_pool, call_api):
    # Given an account already verified, on the moto pool the local platform runs (its gaps filled as Cognito acts:
    # moto alone confirmed it again with a 200)
    assert call_api("/auth/signup", {"email": EMAIL, "password": PASSWORD}).status == 202
    assert call_api("/auth/verify", {"email": EMAIL, "code": "123456"}).status == 200
    # When it is verified again, and an address nobody registered is verified
    again = call_api("/auth/verify", {"email": EMAIL, "code": "000000"})
    unknown = call_api("/auth/verify", {"email": "nobody-here@example.com", "code": "000000"})
    # Then both answers are byte for byte the same: verify tells nobody which addresses have an account
    assert (again.status, again.body) == (unknown.status, unknown.body)
    assert (again.status, again.body["error"]["code"]) == (400, "invalid_code")


# --- sign-in errors ---


def test_wrong_password_is_401_invalid_credentials(user_pool, call_api):
    _signed_up_and_verified(call_api)
    answer = call_api("/auth/signin", {"email": EMAIL, "password": "Wrong-Horse-7"})
    assert answer.status == 401
    assert answer.body == {"error": {"code": "invalid_credentials", "message": "Incorrect email or password."}}


def test_garbage_refresh_token_is_401(user_pool, call_api):
    answer = call_api("/auth/refresh", {"refresh_token": "not-a-token"})
    assert (answer.status, answer.body["error"]["code"]) == (401, "invalid_token")


@pytest.mark.parametrize("body", [None, {}])
def test_sign_out_without_any_access_token_is_401(user_pool, call_api, body):
    answer = call_api("/auth/signout", body, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert (answer.status, answer.body["error"]["code"]) == (401, "unauthorized")


def test_sign_out_with_an_id_token_instead_of_the_access_token_is_401(user_pool, call_api):
    _signed_up_and_verified(call_api)
    id_token = _signed_in(call_api)["id_token"]
    answer = call_api("/auth/signout", {"access_token": id_token})
    assert (answer.status, answer.body["error"]["code"]) == (401, "invalid_token")


# --- password reset ---


def test_forgot_then_confirm_forgot_password_changes_the_password(user_pool, call_api):
    _signed_up_and_verified(call_api)
    forgot = call_api("/auth/forgot-password", {"email": EMAIL})
    assert forgot.status == 202
    new_password = "Battery-Staple-8"
    reset = call_api("/auth/confirm-forgot-password", {"email": EMAIL, "code": "123456", "new_password": new_password})
    assert reset.status == 200, reset.body
    assert call_api("/auth/signin", {"email": EMAIL, "password": PASSWORD}).status == 401
    assert _signed_in(call_api, password=new_password)["token_type"] == "Bearer"


def test_password_reset_with_a_wrong_code_is_invalid_code(user_pool, call_api):
    _signed_up_and_verified(call_api)
    call_api("/auth/forgot-password", {"email": EMAIL})
    # moto accepts any code except a wrong one in its own format
    body = {"email": EMAIL, "code": "moto-confirmation-code:wrong", "new_password": "Battery-Staple-8"}
    answer = call_api("/auth/confirm-forgot-password", body)
    assert (answer.status, answer.body["error"]["code"]) == (400, "invalid_code")


def test_password_reset_for_an_address_with_no_account_is_answered_as_a_wrong_code(user_pool, call_api):
    # Given a verified account with a wrong code, and an address that has no account with any code
    _signed_up_and_verified(call_api)
    known = call_api(
        "/auth/confirm-forgot-password",
        {"email": EMAIL, "code": "moto-confirmation-code:wrong", "new_password": "Battery-Staple-8"},
    )
    unknown = call_api(
        "/auth/confirm-forgot-password",
        {"email": "nobody@example.com", "code": "000000", "new_password": "Battery-Staple-8"},
    )
    # Then both get the same answer: no 500, and nothing that tells which addresses have an account
    assert unknown.status == known.status == 400
    assert unknown.body == known.body and unknown.body["error"]["code"] == "invalid_code"


def test_password_reset_to_a_weak_password_is_invalid_password(user_pool, call_api):
    body = {"email": EMAIL, "code": "123456", "new_password": "weak"}
    answer = call_api("/auth/confirm-forgot-password", body)
    assert (answer.status, answer.body["error"]["code"]) == (400, "invalid_password")


# --- requests that never reach Cognito ---


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/auth/signup", {"email": "not-an-email", "password": PASSWORD}, "email"),
        ("/auth/signup", {"email": EMAIL}, "password"),
        ("/auth/signin", {"email": EMAIL, "password": PASSWORD, "remember": True}, "remember"),
        ("/auth/verify", {"email": EMAIL, "code": ""}, "code"),
        ("/auth/refresh", {}, "refresh_token"),
        ("/auth/confirm-forgot-password", {"email": EMAIL, "code": "1"}, "new_password"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field_without_echoing_secrets(user_pool, call_api, path, body, field):
    answer = call_api(path, body)
    assert answer.status == 400
    assert answer.body["error"]["code"] == "invalid_request"
    assert field in {problem["field"] for problem in answer.body["error"]["fields"]}
    assert PASSWORD not in answer.raw_body


@pytest.mark.parametrize("raw_body", ['{"email": ', "not json", "", "[]"])
def test_malformed_json_is_400(user_pool, call_api, raw_body):
    answer = call_api("/auth/signin", raw_body)
    assert answer.status == 400
    assert answer.body["error"]["code"] == "invalid_request"


AUTH_ROUTES = [
    "/auth/signup",
    "/auth/signin",
    "/auth/verify",
    "/auth/resend-code",
    "/auth/forgot-password",
    "/auth/confirm-forgot-password",
    "/auth/refresh",
    "/auth/signout",
]


@pytest.mark.parametrize("path", AUTH_ROUTES)
def test_body_nested_2000_deep_is_400_on_every_route(user_pool, call_api, path):
    # Before the limit, ~2,000 levels ended in the JSON parser's RecursionError: a 500
    answer = call_api(path, '{"email": ' + "[" * 2_000 + "]" * 2_000 + "}")
    assert answer.status == 400
    assert answer.body["error"]["code"] == "body_too_deep"


@pytest.mark.parametrize("path", AUTH_ROUTES)
def test_body_over_the_limit_is_413_on_every_route(user_pool, call_api, path):
    answer = call_api(path, {"email": "a" * 20_000})
    assert answer.status == 413
    assert answer.body["error"]["code"] == "body_too_large"


def test_unknown_route_is_404(user_pool, call_api):
    assert call_api("/auth/delete-everything", {}).status == 404


# --- answers the fake provider stands in for ---


@pytest.mark.parametrize(
    ("path", "operation", "body"),
    [
        ("/auth/signup", "sign_up", {"email": EMAIL, "password": PASSWORD}),
        ("/auth/signin", "sign_in", {"email": EMAIL, "password": PASSWORD}),
        ("/auth/resend-code", "resend_confirmation_code", {"email": EMAIL}),
        ("/auth/forgot-password", "forgot_password", {"email": EMAIL}),
    ],
)
def test_cognito_throttling_is_429(fake_cognito, call_api, path, operation, body):
    fake_cognito.refuse(operation, Reason.LIMIT_EXCEEDED, "Attempt limit exceeded, please try after some time.")
    answer = call_api(path, body)
    assert answer.status == 429
    assert answer.body == {
        "error": {"code": "too_many_requests", "message": "Too many attempts. Wait a few minutes and try again."}
    }


def test_undeliverable_code_is_503(fake_cognito, call_api):
    fake_cognito.refuse("resend_confirmation_code", Reason.CODE_DELIVERY_FAILURE, "Unable to deliver message")
    answer = call_api("/auth/resend-code", {"email": EMAIL})
    assert (answer.status, answer.body["error"]["code"]) == (503, "try_again_later")


def test_an_unexpected_cognito_error_is_500_with_an_error_id_and_no_internals(user_pool, call_api, monkeypatch):
    # Given a function configured with an app client that does not exist
    monkeypatch.setenv("USER_POOL_CLIENT_ID", "no-such-client")
    from imgplat_auth.store import identity_provider
    from imgplat_common.settings import load_settings

    load_settings.cache_clear()
    identity_provider.cache_clear()
    # When a user signs up
    answer = call_api("/auth/signup", {"email": EMAIL, "password": PASSWORD})
    # Then the answer is a plain 500 with an id to quote, and nothing of the inside
    assert answer.status == 500
    assert answer.body["error"]["code"] == "internal_error"
    assert len(answer.body["error"]["error_id"]) == 32
    for internal in ("Traceback", "botocore", "ResourceNotFound", "no-such-client", "imgplat_auth"):
        assert internal not in answer.raw_body

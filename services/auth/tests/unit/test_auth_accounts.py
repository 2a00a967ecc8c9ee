"""Specification of the /auth behaviour and of how each Cognito refusal is answered (logic only, fake provider)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from imgplat_auth import accounts
from imgplat_auth.identity import IdentityRefusal, Reason
from imgplat_auth.password_policy import PasswordPolicy
from imgplat_auth.responses import MfaRequired, SignedIn
from imgplat_common.errors import ApiError
from imgplat_common.observability import logger

POLICY = PasswordPolicy(minimum_length=12)
EMAIL = "someone@example.com"
GOOD_PASSWORD = "Correct-Horse-7"


def _refused_with(call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value


def _answer(error: ApiError) -> tuple[int, str, str]:
    return int(error.status), error.code, error.message


# The endpoints, each as (operation on the provider, call of the logic).
ENDPOINTS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "signup": ("sign_up", lambda provider: accounts.sign_up(provider, POLICY, EMAIL, GOOD_PASSWORD)),
    "verify": ("confirm_sign_up", lambda provider: accounts.verify(provider, EMAIL, "123456")),
    "resend-code": ("resend_confirmation_code", lambda provider: accounts.resend_code(provider, EMAIL)),
    "signin": ("sign_in", lambda provider: accounts.sign_in(provider, EMAIL, GOOD_PASSWORD)),
    "refresh": ("refresh", lambda provider: accounts.refresh(provider, "refresh.token")),
    "signout": ("sign_out_everywhere", lambda provider: accounts.sign_out(provider, "access.token")),
    "forgot-password": ("forgot_password", lambda provider: accounts.forgot_password(provider, EMAIL)),
    "confirm-forgot-password": (
        "confirm_forgot_password",
        lambda provider: accounts.confirm_forgot_password(provider, POLICY, EMAIL, "123456", GOOD_PASSWORD),
    ),
    "signin/mfa": (
        "answer_mfa_challenge",
        lambda provider: accounts.answer_mfa_challenge(provider, EMAIL, "session" * 4, "123456"),
    ),
    "mfa/setup": ("start_totp_setup", lambda provider: accounts.start_totp_setup(provider, True, "access.token")),
    "mfa/verify": ("confirm_totp", lambda provider: accounts.confirm_totp(provider, True, "access.token", "123456")),
    "mfa/disable": (
        "set_totp_required_at_sign_in",
        lambda provider: accounts.disable_totp(provider, True, "access.token"),
    ),
}


# --- sign-up ---


def test_sign_up_of_an_existing_address_is_answered_like_a_new_one(fake_provider, caplog):
    # Given an address that already has an account
    fake_provider.refuse("sign_up", Reason.USERNAME_EXISTS, "An account with the given email already exists.")
    # When it signs up again, Then nothing is raised (the handler answers 202 as for a new address)
    accounts.sign_up(fake_provider, POLICY, EMAIL, GOOD_PASSWORD)
    # And the log says what happened without naming the address
    logged = "\n".join(logger.registered_formatter.format(record) for record in caplog.records)
    assert "UsernameExistsException" in logged
    assert EMAIL not in logged and GOOD_PASSWORD not in logged


def test_weak_password_is_refused_before_cognito_is_asked_so_existing_accounts_do_not_show(fake_provider):
    # Given an address that already has an account (Cognito would say so before checking the password)
    fake_provider.refuse("sign_up", Reason.USERNAME_EXISTS)
    # When it signs up with a weak password
    error = _refused_with(lambda: accounts.sign_up(fake_provider, POLICY, EMAIL, "short"))
    # Then the answer is the password policy, exactly as for a new address, and Cognito was never asked
    assert _answer(error) == (400, "invalid_password", POLICY.violation("short"))
    assert fake_provider.calls == []


def test_password_refused_by_cognito_is_400_with_cognitos_message(fake_provider):
    fake_provider.refuse("sign_up", Reason.INVALID_PASSWORD, "Password did not conform with policy: Too common")
    error = _refused_with(lambda: accounts.sign_up(fake_provider, POLICY, EMAIL, GOOD_PASSWORD))
    assert _answer(error) == (400, "invalid_password", "Password did not conform with policy: Too common")


# --- verify ---


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (Reason.NOT_AUTHORIZED, "User cannot be confirmed. Current status is CONFIRMED"),
        (Reason.USER_NOT_FOUND, "Username/client id combination not found."),
        (Reason.CODE_MISMATCH, "Invalid verification code provided, please try again."),
        (Reason.EXPIRED_CODE, "Invalid code provided, please request a code again."),
    ],
)
def test_verifying_answers_a_verified_an_unknown_and_a_wrong_code_alike(fake_provider, reason, message):
    # Given Cognito refusing a verification for any of its reasons (an account already verified among them)
    fake_provider.refuse("confirm_sign_up", reason, message)
    # Then the answer is the same for all: nobody learns from it whether an address has an account
    error = _refused_with(lambda: accounts.verify(fake_provider, EMAIL, "123456"))
    assert (int(error.status), error.code) == (400, "invalid_code")
    assert error.message.endswith("or sign in if the account is already verified.")


# --- resend-code and forgot-password: silent about account state ---


@pytest.mark.parametrize("reason", [Reason.USER_NOT_FOUND, Reason.INVALID_PARAMETER])
def test_resend_code_is_silent_about_unknown_or_already_verified_accounts(fake_provider, reason):
    fake_provider.refuse("resend_confirmation_code", reason, "User is already confirmed.")
    accounts.resend_code(fake_provider, EMAIL)
    assert fake_provider.calls == ["resend_confirmation_code"]


@pytest.mark.parametrize("reason", [Reason.USER_NOT_FOUND, Reason.INVALID_PARAMETER, Reason.NOT_AUTHORIZED])
def test_forgot_password_is_silent_about_unknown_or_unverified_accounts(fake_provider, reason):
    fake_provider.refuse("forgot_password", reason, "Cannot reset password for the user as there is no verified email")
    accounts.forgot_password(fake_provider, EMAIL)
    assert fake_provider.calls == ["forgot_password"]


def test_code_that_cannot_be_delivered_is_503_try_again_later(fake_provider):
    fake_provider.refuse("forgot_password", Reason.CODE_DELIVERY_FAILURE, "Unable to deliver message")
    error = _refused_with(lambda: accounts.forgot_password(fake_provider, EMAIL))
    assert (int(error.status), error.code) == (503, "try_again_later")


# --- sign-in ---


def test_sign_in_answers_the_providers_tokens_and_how_to_send_the_id_token(fake_provider):
    # Given a provider that signs the user in, When the user signs in
    answer = accounts.sign_in(fake_provider, EMAIL, GOOD_PASSWORD)
    # Then the answer carries every token of the session, and says the ID token is the one to send
    tokens = fake_provider.tokens
    assert answer == SignedIn(
        id_token=tokens.id_token,
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        token_type="Bearer",
        refresh_token=tokens.refresh_token,
        send_as="Authorization: Bearer <id_token>",
    )


def test_token_answers_never_show_a_token_in_their_repr(fake_provider):
    answers = [accounts.sign_in(fake_provider, EMAIL, GOOD_PASSWORD), accounts.refresh(fake_provider, "r.t")]
    for answer in answers:
        shown = repr(answer)
        assert "expires_in=3600" in shown
        for token in (answer.id_token, answer.access_token, getattr(answer, "refresh_token", None)):
            assert token is None or token not in shown


@pytest.mark.parametrize("reason", [Reason.NOT_AUTHORIZED, Reason.USER_NOT_FOUND])
def test_wrong_password_and_unknown_address_get_the_same_answer(fake_provider, reason):
    fake_provider.refuse("sign_in", reason, "Incorrect username or password.")
    error = _refused_with(lambda: accounts.sign_in(fake_provider, EMAIL, GOOD_PASSWORD))
    assert _answer(error) == (401, "invalid_credentials", "Incorrect email or password.")


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (Reason.USER_NOT_CONFIRMED, "not_confirmed"),
        (Reason.PASSWORD_RESET_REQUIRED, "password_reset_required"),
        (Reason.CHALLENGE_REQUIRED, "sign_in_step_required"),
    ],
)
def test_account_states_cognito_reveals_after_a_correct_password_are_403(fake_provider, reason, code):
    fake_provider.refuse("sign_in", reason)
    error = _refused_with(lambda: accounts.sign_in(fake_provider, EMAIL, GOOD_PASSWORD))
    assert (int(error.status), error.code) == (403, code)


# --- refresh and sign-out ---


def test_refresh_answers_new_id_and_access_tokens_only(fake_provider):
    answer = accounts.refresh(fake_provider, "r.t")
    assert answer.model_dump() == {
        "id_token": "new.id",
        "access_token": "new.access",
        "expires_in": 3600,
        "token_type": "Bearer",
    }


def test_invalid_or_revoked_refresh_token_is_401(fake_provider):
    fake_provider.refuse("refresh", Reason.NOT_AUTHORIZED, "Refresh Token has been revoked")
    error = _refused_with(lambda: accounts.refresh(fake_provider, "revoked"))
    assert (int(error.status), error.code) == (401, "invalid_token")


def test_signing_out_with_an_invalid_access_token_is_401(fake_provider):
    fake_provider.refuse("sign_out_everywhere", Reason.NOT_AUTHORIZED, "Access Token has been revoked")
    error = _refused_with(lambda: accounts.sign_out(fake_provider, "revoked"))
    assert (int(error.status), error.code) == (401, "invalid_token")


# --- confirm-forgot-password ---


@pytest.mark.parametrize("reason", [Reason.CODE_MISMATCH, Reason.EXPIRED_CODE, Reason.USER_NOT_FOUND])
def test_password_reset_with_a_bad_code_is_invalid_code(fake_provider, reason):
    fake_provider.refuse("confirm_forgot_password", reason)
    error = _refused_with(
        lambda: accounts.confirm_forgot_password(fake_provider, POLICY, EMAIL, "000000", GOOD_PASSWORD)
    )
    assert (int(error.status), error.code) == (400, "invalid_code")


def test_password_reset_to_a_weak_password_is_invalid_password_and_keeps_the_code_unused(fake_provider):
    error = _refused_with(lambda: accounts.confirm_forgot_password(fake_provider, POLICY, EMAIL, "123456", "weak"))
    assert (int(error.status), error.code) == (400, "invalid_password")
    assert fake_provider.calls == []


# --- TOTP (authenticator app) MFA ---


def test_totp_setup_answers_the_secret_and_an_otpauth_uri_naming_the_account(fake_provider):
    setup = accounts.start_totp_setup(fake_provider, True, "access.token")
    assert setup.secret_code == "JBSWY3DPEHPK3PXP"
    assert setup.otpauth_uri == (
        "otpauth://totp/Image%20Platform%3Asomeone%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Image%20Platform"
    )
    # Sign-in asks for nothing new until the app proved it holds the secret
    assert not fake_provider.totp_required
    assert "JBSWY3DPEHPK3PXP" not in repr(setup)


def test_sign_in_of_a_user_with_totp_is_a_challenge_without_tokens_then_the_code_gives_the_tokens(fake_provider):
    # Given a user who confirmed a code from the app
    assert accounts.confirm_totp(fake_provider, True, "access.token", "123456") == accounts.TOTP_ENABLED
    assert fake_provider.calls == ["confirm_totp", "set_totp_required_at_sign_in"]
    # When it signs in with the right password, Then it gets a session for the code, and no token
    challenged = accounts.sign_in(fake_provider, EMAIL, GOOD_PASSWORD)
    assert isinstance(challenged, MfaRequired)
    assert (challenged.challenge, challenged.session) == ("SOFTWARE_TOKEN_MFA", "session-of-" + EMAIL)
    assert "session-of" not in repr(challenged)
    # When it sends the app's code with that session, Then it gets the tokens
    signed_in = accounts.answer_mfa_challenge(fake_provider, EMAIL, challenged.session, "654321")
    assert isinstance(signed_in, SignedIn) and signed_in.id_token == "id.token"


def test_a_wrong_totp_code_is_not_set_as_a_sign_in_requirement(fake_provider):
    fake_provider.refuse("confirm_totp", Reason.TOTP_NOT_ENABLED, "Code mismatch")
    error = _refused_with(lambda: accounts.confirm_totp(fake_provider, True, "access.token", "000000"))
    assert (error.status, error.code) == (400, "invalid_code")
    assert "set_totp_required_at_sign_in" not in fake_provider.calls


def test_verifying_before_setting_up_says_where_to_start(fake_provider):
    fake_provider.refuse("confirm_totp", Reason.TOTP_NOT_SET_UP)
    error = _refused_with(lambda: accounts.confirm_totp(fake_provider, True, "access.token", "123456"))
    assert (error.status, error.code) == (409, "mfa_not_set_up")
    assert "/auth/mfa/setup" in error.message


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (Reason.CODE_MISMATCH, "invalid_mfa_code"),
        (Reason.EXPIRED_CODE, "invalid_mfa_code"),
        (Reason.NOT_AUTHORIZED, "session_expired"),
        (Reason.USER_NOT_FOUND, "session_expired"),
    ],
)
def test_a_wrong_code_or_a_dead_session_at_sign_in_is_401_with_what_to_do(fake_provider, reason, code):
    fake_provider.refuse("answer_mfa_challenge", reason)
    error = _refused_with(lambda: accounts.answer_mfa_challenge(fake_provider, EMAIL, "s" * 20, "123456"))
    assert (error.status, error.code) == (401, code)


@pytest.mark.parametrize("endpoint", ["mfa/setup", "mfa/verify", "mfa/disable"])
def test_totp_routes_with_an_invalid_access_token_are_401(fake_provider, endpoint):
    operation, call = ENDPOINTS[endpoint]
    fake_provider.refuse("email_of", Reason.NOT_AUTHORIZED)
    fake_provider.refuse(operation, Reason.NOT_AUTHORIZED)
    error = _refused_with(lambda: call(fake_provider))
    assert (error.status, error.code) == (401, "invalid_token")


@pytest.mark.parametrize(
    "call",
    [
        lambda provider: accounts.start_totp_setup(provider, False, "access.token"),
        lambda provider: accounts.confirm_totp(provider, False, "access.token", "123456"),
        lambda provider: accounts.disable_totp(provider, False, "access.token"),
    ],
)
def test_totp_routes_of_a_deployment_without_mfa_are_404_before_cognito_is_asked(fake_provider, call):
    error = _refused_with(lambda: call(fake_provider))
    assert (error.status, error.code) == (404, "mfa_not_offered")
    assert fake_provider.calls == []


def test_disabling_totp_makes_sign_in_ask_for_the_password_only(fake_provider):
    accounts.confirm_totp(fake_provider, True, "access.token", "123456")
    assert accounts.disable_totp(fake_provider, True, "access.token") == accounts.TOTP_DISABLED
    assert isinstance(accounts.sign_in(fake_provider, EMAIL, GOOD_PASSWORD), SignedIn)


# --- answers shared by every endpoint ---


@pytest.mark.parametrize("reason", [Reason.TOO_MANY_REQUESTS, Reason.LIMIT_EXCEEDED, Reason.TOO_MANY_FAILED_ATTEMPTS])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_throttling_is_429_on_every_endpoint(fake_provider, endpoint, reason):
    operation, call = ENDPOINTS[endpoint]
    fake_provider.refuse(operation, reason, "Attempt limit exceeded, please try after some time.")
    error = _refused_with(lambda: call(fake_provider))
    assert _answer(error) == (429, "too_many_requests", "Too many attempts. Wait a few minutes and try again.")


@pytest.mark.parametrize("endpoint", [name for name in ENDPOINTS if name != "signin"])
def test_a_refusal_the_caller_cannot_act_on_is_left_to_the_shared_500_handler(fake_provider, endpoint):
    # Given a refusal no table answers for this endpoint (a reset required, outside sign-in)
    operation, call = ENDPOINTS[endpoint]
    fake_provider.refuse(operation, Reason.PASSWORD_RESET_REQUIRED)
    # Then the refusal itself propagates, for the shared handler to log and answer 500 with an error id
    with pytest.raises(IdentityRefusal):
        call(fake_provider)


def test_every_cognito_reason_has_an_answer_somewhere():
    answered = set(accounts.GENERAL_ANSWERS)
    for table in (
        accounts.VERIFY_ANSWERS,
        accounts.SIGN_IN_ANSWERS,
        accounts.REFRESH_ANSWERS,
        accounts.SIGN_OUT_ANSWERS,
        accounts.CONFIRM_FORGOT_PASSWORD_ANSWERS,
        accounts.MFA_SIGN_IN_ANSWERS,
        accounts.TOTP_SETUP_ANSWERS,
    ):
        answered |= set(table)
    ignored = accounts.SIGN_UP_IGNORES | accounts.RESEND_CODE_IGNORES | accounts.FORGOT_PASSWORD_IGNORES
    assert set(Reason) == answered | ignored

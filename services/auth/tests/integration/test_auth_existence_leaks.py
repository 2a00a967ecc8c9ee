"""No answer of the /auth API tells a stranger whether an address has an account, and no secret reaches a log."""

from __future__ import annotations

import pytest
from imgplat_auth.identity import Reason

KNOWN = "known@example.com"
UNKNOWN = "unknown@example.com"
PASSWORD = "Correct-Horse-7"


@pytest.fixture
def known_account(user_pool, call_api):
    """A verified account at KNOWN."""
    assert call_api("/auth/signup", {"email": KNOWN, "password": PASSWORD}).status == 202
    assert call_api("/auth/verify", {"email": KNOWN, "code": "123456"}).status == 200


def _same_answer(first, second) -> None:
    assert (first.status, first.raw_body) == (second.status, second.raw_body)


def test_sign_up_answers_known_and_new_addresses_byte_for_byte_alike(known_account, call_api):
    _same_answer(
        call_api("/auth/signup", {"email": KNOWN, "password": PASSWORD}),
        call_api("/auth/signup", {"email": UNKNOWN, "password": PASSWORD}),
    )


def test_sign_up_with_a_weak_password_answers_known_and_new_addresses_alike(known_account, call_api):
    weak = "weak-password"
    known = call_api("/auth/signup", {"email": KNOWN, "password": weak})
    _same_answer(known, call_api("/auth/signup", {"email": "new@example.com", "password": weak}))
    assert known.status == 400


def test_forgot_password_answers_known_and_unknown_addresses_alike(known_account, call_api):
    _same_answer(
        call_api("/auth/forgot-password", {"email": KNOWN}),
        call_api("/auth/forgot-password", {"email": UNKNOWN}),
    )


def test_sign_in_answers_a_wrong_password_and_an_unknown_address_alike(known_account, call_api):
    wrong_password = call_api("/auth/signin", {"email": KNOWN, "password": "Wrong-Horse-7"})
    unknown_address = call_api("/auth/signin", {"email": UNKNOWN, "password": "Wrong-Horse-7"})
    _same_answer(wrong_password, unknown_address)
    assert wrong_password.status == 401


@pytest.mark.parametrize(
    "refusal", [None, Reason.USER_NOT_FOUND, Reason.INVALID_PARAMETER], ids=["sent", "unknown", "verified"]
)
def test_resend_code_answers_alike_whatever_the_account_state(fake_cognito, call_api, refusal):
    # moto has no ResendConfirmationCode: the fake stands in for each of Cognito's answers
    sent = call_api("/auth/resend-code", {"email": KNOWN})
    if refusal:
        fake_cognito.refuse("resend_confirmation_code", refusal, "User is already confirmed.")
    _same_answer(sent, call_api("/auth/resend-code", {"email": KNOWN}))
    assert sent.status == 202


def test_no_password_code_or_token_is_ever_logged(user_pool, call_api, caplog):
    from imgplat_common.observability import logger

    # Given a whole journey, including refusals that are logged
    call_api("/auth/signup", {"email": KNOWN, "password": PASSWORD})
    call_api("/auth/signup", {"email": KNOWN, "password": PASSWORD})
    call_api("/auth/verify", {"email": KNOWN, "code": "481516"})
    tokens = call_api("/auth/signin", {"email": KNOWN, "password": PASSWORD}).body
    call_api("/auth/signin", {"email": KNOWN, "password": "Wrong-Horse-7"})
    call_api("/auth/signout", {"access_token": tokens["access_token"]})
    # Then no log line holds any of the secrets, nor the address
    logged = "\n".join(logger.registered_formatter.format(record) for record in caplog.records)
    assert logged  # the journey did log something
    for secret in (PASSWORD, "Wrong-Horse-7", "481516", tokens["id_token"], tokens["access_token"], KNOWN):
        assert secret not in logged

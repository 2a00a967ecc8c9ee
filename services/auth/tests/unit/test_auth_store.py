"""Specification of the Cognito adapter: Cognito errors become refusals, tokens become a TokenSet (botocore Stubber)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from imgplat_auth.identity import IdentityRefusal, MfaChallenge, Reason, TokenSet
from imgplat_auth.store import CognitoIdentityProvider

CLIENT_ID = "client-id-1234"


@pytest.fixture
def cognito():
    client = boto3.client("cognito-idp", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("reason", [reason for reason in Reason if reason is not Reason.CHALLENGE_REQUIRED])
def test_each_cognito_error_with_an_answer_becomes_a_refusal_with_its_reason_and_message(cognito, reason):
    client, stubber = cognito
    stubber.add_client_error("forgot_password", service_error_code=reason.value, service_message="Cognito's words")
    with pytest.raises(IdentityRefusal) as refused:
        CognitoIdentityProvider(client, CLIENT_ID).forgot_password("someone@example.com")
    assert (refused.value.reason, refused.value.message) == (reason, "Cognito's words")


def test_other_cognito_errors_propagate_unchanged(cognito):
    client, stubber = cognito
    stubber.add_client_error("sign_up", service_error_code="ResourceNotFoundException", http_status_code=400)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        CognitoIdentityProvider(client, CLIENT_ID).sign_up("someone@example.com", "Correct-Horse-7")


def test_sign_in_uses_the_password_flow_on_the_app_client_and_returns_the_tokens(cognito):
    client, stubber = cognito
    result = {"IdToken": "id", "AccessToken": "access", "RefreshToken": "refresh", "ExpiresIn": 3600}
    stubber.add_response(
        "initiate_auth",
        {"AuthenticationResult": {**result, "TokenType": "Bearer"}},
        {
            "ClientId": CLIENT_ID,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "someone@example.com", "PASSWORD": "Correct-Horse-7"},
        },
    )
    tokens = CognitoIdentityProvider(client, CLIENT_ID).sign_in("someone@example.com", "Correct-Horse-7")
    assert tokens == TokenSet(id_token="id", access_token="access", expires_in=3600, refresh_token="refresh")


def test_a_sign_in_challenge_instead_of_tokens_is_a_refusal(cognito):
    client, stubber = cognito
    stubber.add_response("initiate_auth", {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s" * 20})
    with pytest.raises(IdentityRefusal) as refused:
        CognitoIdentityProvider(client, CLIENT_ID).sign_in("someone@example.com", "Correct-Horse-7")
    assert refused.value.reason is Reason.CHALLENGE_REQUIRED


def test_a_totp_challenge_is_handed_back_with_its_session_and_answered_with_the_code(cognito):
    client, stubber = cognito
    session = "s" * 40
    stubber.add_response("initiate_auth", {"ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": session})
    result = {"IdToken": "id", "AccessToken": "access", "RefreshToken": "refresh", "ExpiresIn": 900}
    stubber.add_response(
        "respond_to_auth_challenge",
        {"AuthenticationResult": result},
        {
            "ClientId": CLIENT_ID,
            "ChallengeName": "SOFTWARE_TOKEN_MFA",
            "Session": session,
            "ChallengeResponses": {"USERNAME": "someone@example.com", "SOFTWARE_TOKEN_MFA_CODE": "123456"},
        },
    )
    provider = CognitoIdentityProvider(client, CLIENT_ID)
    challenge = provider.sign_in("someone@example.com", "Correct-Horse-7")
    assert challenge == MfaChallenge(session=session)
    assert session not in repr(challenge)
    tokens = provider.answer_mfa_challenge("someone@example.com", session, "123456")
    assert tokens == TokenSet(id_token="id", access_token="access", expires_in=900, refresh_token="refresh")


def test_a_totp_code_cognito_does_not_accept_is_a_code_mismatch(cognito):
    client, stubber = cognito
    stubber.add_response("verify_software_token", {"Status": "ERROR"}, {"AccessToken": "a.t", "UserCode": "000000"})
    with pytest.raises(IdentityRefusal) as refused:
        CognitoIdentityProvider(client, CLIENT_ID).confirm_totp("a.t", "000000")
    assert refused.value.reason is Reason.CODE_MISMATCH


@pytest.mark.parametrize("required", [True, False])
def test_totp_at_sign_in_is_the_users_only_and_preferred_factor_or_none(cognito, required):
    client, stubber = cognito
    settings = {"Enabled": required, "PreferredMfa": required}
    stubber.add_response("set_user_mfa_preference", {}, {"AccessToken": "a.t", "SoftwareTokenMfaSettings": settings})
    CognitoIdentityProvider(client, CLIENT_ID).set_totp_required_at_sign_in("a.t", required)


def test_tokens_never_show_in_a_repr():
    tokens = TokenSet(id_token="secret-id", access_token="secret-access", expires_in=60, refresh_token="secret-r")
    assert "secret" not in repr(tokens)

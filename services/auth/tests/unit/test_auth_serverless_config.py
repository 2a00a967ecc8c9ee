"""Specification of services/auth/serverless.yml: the user pool, app client, routes and IAM the brief asks for."""

from __future__ import annotations

import pytest
from imgplat_auth.settings import AuthSettings

from local.stack import Stack

ROUTES = {
    "auth/signup",
    "auth/verify",
    "auth/resend-code",
    "auth/signin",
    "auth/refresh",
    "auth/signout",
    "auth/forgot-password",
    "auth/confirm-forgot-password",
    "auth/signin/mfa",
    "auth/mfa/setup",
    "auth/mfa/verify",
    "auth/mfa/disable",
}


def test_password_policy_is_12_characters_with_every_character_class(serverless_config):
    policy = serverless_config()["resources"]["Resources"]["UserPool"]["Properties"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 12
    assert all(
        policy[rule] is True for rule in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols")
    )


def test_the_functions_password_check_uses_the_pools_minimum_length(serverless_config):
    config = serverless_config()
    pool_minimum = config["resources"]["Resources"]["UserPool"]["Properties"]["Policies"]["PasswordPolicy"]
    assert config["functions"]["api"]["environment"]["PASSWORD_MINIMUM_LENGTH"] == pool_minimum["MinimumLength"]
    assert AuthSettings.model_fields["password_minimum_length"].is_required()  # one source: the param


def test_pool_signs_in_by_verified_email_and_recovers_by_it(serverless_config):
    pool = serverless_config()["resources"]["Resources"]["UserPool"]["Properties"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [{"Name": "verified_email", "Priority": 1}]


@pytest.mark.parametrize(("stage", "protection"), [("dev", "INACTIVE"), ("prod", "ACTIVE")])
def test_deletion_protection_is_on_in_prod_only(serverless_config, stage, protection):
    pool = serverless_config(stage)["resources"]["Resources"]["UserPool"]
    assert pool["Properties"]["DeletionProtection"] == protection
    assert pool["DeletionPolicy"] == ("Retain" if stage == "prod" else "Delete")


def test_app_client_is_public_hides_user_existence_and_revokes_tokens(serverless_config):
    client = serverless_config()["resources"]["Resources"]["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["EnableTokenRevocation"] is True
    validity = {
        kind: (client[f"{kind}Validity"], client["TokenValidityUnits"][kind])
        for kind in ("IdToken", "AccessToken", "RefreshToken")
    }
    # Short ID and access tokens bound how long an ID token outlives a sign-out (README: the sign-out row)
    assert validity == {"IdToken": (15, "minutes"), "AccessToken": (15, "minutes"), "RefreshToken": (30, "days")}


def _pool_mfa(config: dict) -> tuple[str, list[str] | None]:
    """The pool's MfaConfiguration and EnabledMfas as CloudFormation evaluates its conditions."""
    properties = Stack("auth", config, "us-east-1").resolve(config["resources"]["Resources"]["UserPool"]["Properties"])
    return properties["MfaConfiguration"], properties.get("EnabledMfas")


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_stage_lets_each_user_turn_on_totp_and_offers_no_sms(serverless_config, stage):
    assert _pool_mfa(serverless_config(stage)) == ("OPTIONAL", ["SOFTWARE_TOKEN_MFA"])


def test_mfa_param_off_turns_mfa_off_for_the_pool_and_the_function(serverless_config):
    off = serverless_config("dev", mfa="off")
    assert _pool_mfa(off) == ("OFF", None)
    assert Stack("auth", off, "us-east-1").resolve(off["functions"]["api"]["environment"]["MFA"]) == "off"
    assert AuthSettings.model_fields["mfa"].is_required()  # one source: the param


def test_outputs_are_the_ones_other_services_consume(serverless_config):
    outputs = set(serverless_config()["resources"]["Outputs"])
    assert outputs == {"UserPoolId", "UserPoolArn", "UserPoolClientId", "AlarmTopicArn", "WebAclArn"}


def test_every_auth_route_is_a_public_post(serverless_config):
    events = [event["http"] for event in serverless_config()["functions"]["api"]["events"]]
    assert {event["path"] for event in events} == ROUTES
    assert all(event["method"] == "post" and "authorizer" not in event for event in events)


def test_function_gets_the_pool_and_client_ids(serverless_config):
    environment = serverless_config()["functions"]["api"]["environment"]
    assert environment["USER_POOL_ID"] == {"Ref": "UserPool"}
    assert environment["USER_POOL_CLIENT_ID"] == {"Ref": "UserPoolClient"}


def test_function_role_holds_xray_only_no_cognito_and_no_wildcard_actions(serverless_config):
    statements = serverless_config()["functions"]["api"]["iamRoleStatements"]
    actions = [action for statement in statements for action in statement["Action"]]
    assert actions == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    assert not any(action.startswith("cognito") or "*" in action for action in actions)

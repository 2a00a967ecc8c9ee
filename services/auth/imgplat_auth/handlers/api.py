"""POST /auth/*: the whole public auth API in one function.

One function rather than one per route: every route needs the same environment and the same (empty) Cognito
permissions, so splitting buys no privilege separation, while one function stays warm through a user's
sign-up -> verify -> sign-in sequence and keeps cold starts rare on these low-traffic routes.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from imgplat_common.api import build_api, json_response
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.errors import Unauthorized
from imgplat_common.observability import logger, metrics, tracer
from imgplat_common.settings import load_settings
from pydantic import BaseModel

from imgplat_auth import accounts
from imgplat_auth.password_policy import PasswordPolicy
from imgplat_auth.responses import MfaRequired
from imgplat_auth.schemas import (
    Credentials,
    EmailOnly,
    MfaConfirmation,
    MfaRequest,
    MfaSignIn,
    PasswordReset,
    RefreshRequest,
    SignOutRequest,
    Verification,
)
from imgplat_auth.settings import AuthSettings
from imgplat_auth.store import identity_provider

app = build_api()
# Tokens are credentials: no shared cache or proxy may keep a response of this API.
NO_STORE = {"Cache-Control": "no-store"}


def _password_policy() -> PasswordPolicy:
    return PasswordPolicy(minimum_length=load_settings(AuthSettings).password_minimum_length)


def _answer(status: int, body: BaseModel) -> Response[str]:
    return json_response(status, body.model_dump(mode="json"), NO_STORE)


def _mfa_offered() -> bool:
    settings: AuthSettings = load_settings(AuthSettings)
    return settings.mfa == "optional"


def _access_token(body: SignOutRequest | MfaRequest | MfaConfirmation | None) -> str:
    """The access token from the body, else from an 'Authorization: Bearer' header."""
    if body and body.access_token:
        return body.access_token.get_secret_value()
    scheme, _, token = (app.current_event.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the access token as {'access_token': ...} or 'Authorization: Bearer <access_token>'.")
    return token.strip()


@app.post("/auth/signup")
def sign_up(body: Credentials) -> Response[str]:
    password = body.password.get_secret_value()
    return _answer(202, accounts.sign_up(identity_provider(), _password_policy(), body.email, password))


@app.post("/auth/verify")
def verify(body: Verification) -> Response[str]:
    return _answer(200, accounts.verify(identity_provider(), body.email, body.code.get_secret_value()))


@app.post("/auth/resend-code")
def resend_code(body: EmailOnly) -> Response[str]:
    return _answer(202, accounts.resend_code(identity_provider(), body.email))


@app.post("/auth/signin")
def sign_in(body: Credentials) -> Response[str]:
    answer = accounts.sign_in(identity_provider(), body.email, body.password.get_secret_value())
    # 202: the password was right, but tokens come only with the authenticator app's code (/auth/signin/mfa).
    return _answer(202 if isinstance(answer, MfaRequired) else 200, answer)


@app.post("/auth/signin/mfa")
def sign_in_with_mfa(body: MfaSignIn) -> Response[str]:
    session, code = body.session.get_secret_value(), body.code.get_secret_value()
    return _answer(200, accounts.answer_mfa_challenge(identity_provider(), body.email, session, code))


@app.post("/auth/refresh")
def refresh(body: RefreshRequest) -> Response[str]:
    return _answer(200, accounts.refresh(identity_provider(), body.refresh_token.get_secret_value()))


@app.post("/auth/signout")
def sign_out(body: SignOutRequest | None = None) -> Response[str]:  # no body when the token is in the header
    return _answer(200, accounts.sign_out(identity_provider(), _access_token(body)))


@app.post("/auth/mfa/setup")
def start_totp_setup(body: MfaRequest | None = None) -> Response[str]:  # no body when the token is in the header
    return _answer(200, accounts.start_totp_setup(identity_provider(), _mfa_offered(), _access_token(body)))


@app.post("/auth/mfa/verify")
def confirm_totp(body: MfaConfirmation) -> Response[str]:
    code = body.code.get_secret_value()
    return _answer(200, accounts.confirm_totp(identity_provider(), _mfa_offered(), _access_token(body), code))


@app.post("/auth/mfa/disable")
def disable_totp(body: MfaRequest | None = None) -> Response[str]:  # no body when the token is in the header
    return _answer(200, accounts.disable_totp(identity_provider(), _mfa_offered(), _access_token(body)))


@app.post("/auth/forgot-password")
def forgot_password(body: EmailOnly) -> Response[str]:
    return _answer(202, accounts.forgot_password(identity_provider(), body.email))


@app.post("/auth/confirm-forgot-password")
def confirm_forgot_password(body: PasswordReset) -> Response[str]:
    code, new_password = body.code.get_secret_value(), body.new_password.get_secret_value()
    policy = _password_policy()
    return _answer(200, accounts.confirm_forgot_password(identity_provider(), policy, body.email, code, new_password))


# Request bodies hold passwords and codes, responses hold tokens: neither is ever logged nor traced, whatever
# POWERTOOLS_LOGGER_LOG_EVENT or POWERTOOLS_TRACER_CAPTURE_RESPONSE say.
@ends_cold_start
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry for every /auth route."""
    return app.resolve(event, context)

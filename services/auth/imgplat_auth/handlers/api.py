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
from imgplat_common.errors import Unauthorized
from imgplat_common.observability import logger, metrics, tracer
from imgplat_common.settings import load_settings

from imgplat_auth import accounts
from imgplat_auth.identity import TokenSet
from imgplat_auth.password_policy import PasswordPolicy
from imgplat_auth.schemas import Credentials, EmailOnly, PasswordReset, RefreshRequest, SignOutRequest, Verification
from imgplat_auth.settings import AuthSettings
from imgplat_auth.store import identity_provider

app = build_api()
# Tokens are credentials: no shared cache or proxy may keep a response of this API.
NO_STORE = {"Cache-Control": "no-store"}


def _password_policy() -> PasswordPolicy:
    return PasswordPolicy(minimum_length=load_settings(AuthSettings).password_minimum_length)


def _message(status: int, message: str) -> Response[str]:
    return json_response(status, {"message": message}, NO_STORE)


def _tokens(tokens: TokenSet, **extra: Any) -> Response[str]:
    body = {"id_token": tokens.id_token, "access_token": tokens.access_token, "expires_in": tokens.expires_in}
    return json_response(200, body | {"token_type": tokens.token_type, **extra}, NO_STORE)


def _access_token(body: SignOutRequest | None) -> str:
    """The access token from the body, else from an 'Authorization: Bearer' header."""
    if body and body.access_token:
        return body.access_token.get_secret_value()
    scheme, _, token = (app.current_event.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the access token as {'access_token': ...} or 'Authorization: Bearer <access_token>'.")
    return token.strip()


@app.post("/auth/signup")
def sign_up(body: Credentials) -> Response[str]:
    accounts.sign_up(identity_provider(), _password_policy(), body.email, body.password.get_secret_value())
    return _message(202, accounts.SIGN_UP_ACCEPTED)


@app.post("/auth/verify")
def verify(body: Verification) -> Response[str]:
    accounts.verify(identity_provider(), body.email, body.code.get_secret_value())
    return _message(200, accounts.ACCOUNT_VERIFIED)


@app.post("/auth/resend-code")
def resend_code(body: EmailOnly) -> Response[str]:
    accounts.resend_code(identity_provider(), body.email)
    return _message(202, accounts.CODE_SENT)


@app.post("/auth/signin")
def sign_in(body: Credentials) -> Response[str]:
    tokens = accounts.sign_in(identity_provider(), body.email, body.password.get_secret_value())
    # The ID token is the one the platform's APIs accept (Cognito authorizer without scopes).
    return _tokens(tokens, refresh_token=tokens.refresh_token, send_as="Authorization: Bearer <id_token>")


@app.post("/auth/refresh")
def refresh(body: RefreshRequest) -> Response[str]:
    return _tokens(accounts.refresh(identity_provider(), body.refresh_token.get_secret_value()))


@app.post("/auth/signout")
def sign_out(body: SignOutRequest | None = None) -> Response[str]:  # no body when the token is in the header
    accounts.sign_out(identity_provider(), _access_token(body))
    return _message(200, accounts.SIGNED_OUT)


@app.post("/auth/forgot-password")
def forgot_password(body: EmailOnly) -> Response[str]:
    accounts.forgot_password(identity_provider(), body.email)
    return _message(202, accounts.RESET_CODE_SENT)


@app.post("/auth/confirm-forgot-password")
def confirm_forgot_password(body: PasswordReset) -> Response[str]:
    code, new_password = body.code.get_secret_value(), body.new_password.get_secret_value()
    accounts.confirm_forgot_password(identity_provider(), _password_policy(), body.email, code, new_password)
    return _message(200, accounts.PASSWORD_CHANGED)


# Request bodies hold passwords and codes, responses hold tokens: neither is ever logged nor traced, whatever
# POWERTOOLS_LOGGER_LOG_EVENT or POWERTOOLS_TRACER_CAPTURE_RESPONSE say.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry for every /auth route."""
    return app.resolve(event, context)

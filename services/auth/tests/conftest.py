"""Fixtures shared by the auth service's unit and integration tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from imgplat_auth.identity import IdentityRefusal, MfaChallenge, Reason, TokenSet

from local.serverless_files import load_yaml

SERVICE_DIR = Path(__file__).resolve().parents[1]


class FakeIdentityProvider:
    """An IdentityProvider that records each call and refuses the operations it is told to refuse."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refusals: dict[str, IdentityRefusal] = {}
        self.tokens = TokenSet(id_token="id.token", access_token="access.token", expires_in=3600, refresh_token="r.t")
        self.totp_required = False  # the user's choice, as SetUserMFAPreference leaves it

    def refuse(self, operation: str, reason: Reason, message: str = "") -> None:
        self.refusals[operation] = IdentityRefusal(reason, message)

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if operation in self.refusals:
            raise self.refusals[operation]

    def sign_up(self, email: str, password: str) -> None:
        self._call("sign_up")

    def confirm_sign_up(self, email: str, code: str) -> None:
        self._call("confirm_sign_up")

    def resend_confirmation_code(self, email: str) -> None:
        self._call("resend_confirmation_code")

    def sign_in(self, email: str, password: str) -> TokenSet | MfaChallenge:
        self._call("sign_in")
        return MfaChallenge(session="session-of-" + email) if self.totp_required else self.tokens

    def answer_mfa_challenge(self, email: str, session: str, code: str) -> TokenSet:
        self._call("answer_mfa_challenge")
        return self.tokens

    def refresh(self, refresh_token: str) -> TokenSet:
        self._call("refresh")
        return TokenSet(id_token="new.id", access_token="new.access", expires_in=3600)

    def sign_out_everywhere(self, access_token: str) -> None:
        self._call("sign_out_everywhere")

    def forgot_password(self, email: str) -> None:
        self._call("forgot_password")

    def confirm_forgot_password(self, email: str, code: str, new_password: str) -> None:
        self._call("confirm_forgot_password")

    def email_of(self, access_token: str) -> str:
        self._call("email_of")
        return "someone@example.com"

    def start_totp_setup(self, access_token: str) -> str:
        self._call("start_totp_setup")
        return "JBSWY3DPEHPK3PXP"

    def confirm_totp(self, access_token: str, code: str) -> None:
        self._call("confirm_totp")

    def set_totp_required_at_sign_in(self, access_token: str, required: bool) -> None:
        self._call("set_totp_required_at_sign_in")
        self.totp_required = required


@pytest.fixture
def fake_provider() -> FakeIdentityProvider:
    return FakeIdentityProvider()


def _resolve(value: Any, params: dict[str, Any], stage: str) -> Any:
    """serverless.yml values with ${param:x} and ${sls:stage} replaced (a whole-value param keeps its type)."""
    if isinstance(value, dict):
        return {key: _resolve(item, params, stage) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, params, stage) for item in value]
    if isinstance(value, str):
        for name, param in params.items():
            if value == f"${{param:{name}}}":
                return param
            value = value.replace(f"${{param:{name}}}", str(param))
        return value.replace("${sls:stage}", stage)
    return value


@pytest.fixture(scope="session")
def serverless_config() -> Callable[[str], dict[str, Any]]:
    """services/auth/serverless.yml for a stage, with that stage's params (and any overrides) filled in."""
    raw = load_yaml(SERVICE_DIR / "serverless.yml")

    def resolved(stage: str = "dev", **param_overrides: Any) -> dict[str, Any]:
        """`param_overrides` stand for `--param name=value` on the command line."""
        params = raw["params"]["default"] | raw["params"].get(stage, {}) | param_overrides
        return _resolve(raw, params, stage)

    return resolved

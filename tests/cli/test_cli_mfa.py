"""Two-factor sign-in from the CLI over a fake platform (httpx MockTransport): login answers the TOTP challenge,
`imgplat mfa setup/verify/disable` send the cached access token."""

from __future__ import annotations

import json

import httpx
import pytest
from imgplat_cli.main import app
from imgplat_cli.token_cache import TokenCache
from typer.testing import CliRunner

API = "http://platform.test"
SESSION = "s" * 40
TOKENS = {"id_token": "id-2", "access_token": "access-2", "refresh_token": "refresh-2", "expires_in": 900}


class TotpPlatform:
    """A platform where ada@example.com has TOTP on and the app's current code is 654321."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        self.requests.append((request.url.path, body))
        if request.url.path == "/auth/signin":
            return httpx.Response(202, json={"challenge": "SOFTWARE_TOKEN_MFA", "session": SESSION, "message": "..."})
        if request.url.path == "/auth/signin/mfa":
            if (body["session"], body["code"]) != (SESSION, "654321"):
                return httpx.Response(
                    401, json={"error": {"code": "invalid_mfa_code", "message": "The code is not right."}}
                )
            return httpx.Response(200, json=TOKENS | {"token_type": "Bearer"})
        if request.url.path == "/auth/mfa/setup":
            return httpx.Response(
                200, json={"secret_code": "JBSWY3DPEHPK3PXP", "otpauth_uri": OTPAUTH_URI, "message": "m"}
            )
        return httpx.Response(200, json={"message": f"done: {request.url.path}"})


# As auth answers it: longer than a pipe's 80 columns.
OTPAUTH_URI = "otpauth://totp/Image%20Platform%3Aada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Image%20Platform"


@pytest.fixture
def platform(tmp_path, monkeypatch) -> TotpPlatform:
    monkeypatch.setenv("IMGPLAT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("IMGPLAT_API_URL", API)
    return TotpPlatform()


def _imgplat(platform: TotpPlatform, *args: str, stdin: str | None = None):
    http = httpx.Client(transport=httpx.MockTransport(platform))
    return CliRunner().invoke(app, list(args), obj=http, input=stdin)


def test_login_of_an_account_with_totp_prompts_for_the_apps_code_and_caches_the_tokens(platform):
    result = _imgplat(platform, "login", "--email", "ada@example.com", "--password", "pw", stdin="654321\n")
    assert result.exit_code == 0, result.output
    assert "Code from your authenticator app" in result.output
    assert platform.requests[-1] == (
        "/auth/signin/mfa",
        {"email": "ada@example.com", "session": SESSION, "code": "654321"},
    )
    session = TokenCache().load(API)
    assert session is not None and (session.id_token, session.refresh_token) == ("id-2", "refresh-2")


def test_login_with_a_wrong_code_fails_and_caches_nothing(platform):
    result = _imgplat(platform, "login", "--email", "ada@example.com", "--password", "pw", "--code", "000000")
    assert result.exit_code == 1
    assert "The code is not right." in result.output
    assert TokenCache().load(API) is None


def test_mfa_setup_verify_and_disable_send_the_cached_access_token(platform):
    assert (
        _imgplat(platform, "login", "--email", "ada@example.com", "--password", "pw", "--code", "654321").exit_code == 0
    )
    setup = _imgplat(platform, "mfa", "setup")
    assert setup.exit_code == 0 and "JBSWY3DPEHPK3PXP" in setup.output
    # The URI is printed whole on one line (wider than the 80 columns of a pipe), so a copy of it is the URI
    assert f"URI (for a QR code): {OTPAUTH_URI}\n" in setup.output
    assert _imgplat(platform, "mfa", "verify", "--code", "123456").exit_code == 0
    assert _imgplat(platform, "mfa", "disable").exit_code == 0
    assert platform.requests[-3:] == [
        ("/auth/mfa/setup", {"access_token": "access-2"}),
        ("/auth/mfa/verify", {"access_token": "access-2", "code": "123456"}),
        ("/auth/mfa/disable", {"access_token": "access-2"}),
    ]

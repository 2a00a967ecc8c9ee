"""The CLI's session cache and token refresh, without a platform: a temp config dir and a fake API (httpx)."""

from __future__ import annotations

import json
import stat
import time

import httpx
import pytest
from imgplat_cli.api_client import ImgplatClient, NotSignedIn
from imgplat_cli.token_cache import Session, TokenCache

API = "http://platform.test"


def _session(expires_in: float = 3600, refresh_token: str = "refresh-1") -> Session:
    return Session("ada@example.com", "id-1", "access-1", refresh_token, time.time() + expires_in)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> TokenCache:
    monkeypatch.setenv("IMGPLAT_CONFIG_DIR", str(tmp_path / "config"))
    return TokenCache()


def test_tokens_are_stored_readable_by_the_user_only(cache):
    # Given a signed-in session, When it is cached
    cache.save(API, _session())
    # Then the file is 0600 in a 0700 directory, under IMGPLAT_CONFIG_DIR
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700
    assert cache.load(API) == _session().__class__(**json.loads(cache.path.read_text())[API])


def test_sessions_are_kept_per_platform_and_logout_forgets_only_one(cache):
    cache.save(API, _session())
    cache.save("http://other.test", _session(refresh_token="other"))
    cache.clear(API)
    assert cache.load(API) is None
    loaded = cache.load("http://other.test")
    assert loaded is not None and loaded.refresh_token == "other"
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600


def test_a_corrupt_cache_means_not_signed_in(cache):
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text("{not json")
    assert cache.load(API) is None


class FakePlatform:
    """Answers /auth/refresh with new tokens and /images only for the current ID token."""

    def __init__(self) -> None:
        self.refreshes = 0
        self.valid_id_token = "id-1"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/refresh":
            if json.loads(request.content)["refresh_token"] != "refresh-1":
                return httpx.Response(401, json={"error": {"code": "invalid_token", "message": "Sign in again."}})
            self.refreshes += 1
            self.valid_id_token = f"id-{self.refreshes + 1}"
            return httpx.Response(200, json={"id_token": self.valid_id_token, "access_token": "a", "expires_in": 3600})
        if request.headers.get("Authorization") != f"Bearer {self.valid_id_token}":
            return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "no"}})
        return httpx.Response(200, json={"items": [], "next_cursor": None})


def _client(cache: TokenCache, platform: FakePlatform) -> ImgplatClient:
    return ImgplatClient(API, cache, httpx.Client(transport=httpx.MockTransport(platform)))


def test_expired_tokens_are_refreshed_before_the_request_and_cached_again(cache):
    # Given a cached session whose tokens expired a minute ago
    cache.save(API, _session(expires_in=-60))
    platform = FakePlatform()
    # When an authorized call is made
    assert _client(cache, platform).list_images(limit=5) == {"items": [], "next_cursor": None}
    # Then the tokens were refreshed once, and the new ones are cached (still 0600)
    assert platform.refreshes == 1
    cached = cache.load(API)
    assert cached is not None and cached.id_token == "id-2" and not cached.expired()
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600


def test_a_token_refused_before_its_expiry_is_refreshed_once_and_the_call_retried(cache):
    cache.save(API, _session())
    platform = FakePlatform()
    platform.valid_id_token = "id-revoked-elsewhere"
    platform.refreshes = 0
    # The cached id-1 is refused; the refresh issues id-2, which the platform accepts.
    assert _client(cache, platform).list_images(limit=5)["items"] == []
    assert platform.refreshes == 1


def test_a_refresh_token_that_no_longer_works_means_sign_in_again(cache):
    cache.save(API, _session(expires_in=-60, refresh_token="revoked"))
    with pytest.raises(NotSignedIn, match="imgplat login"):
        _client(cache, FakePlatform()).list_images(limit=5)
    assert cache.load(API) is None


def test_without_a_session_the_client_says_to_log_in_and_to_which_platform(cache):
    # Sessions are per platform: a mistyped URL must show in the message, not look like a lost session
    with pytest.raises(NotSignedIn, match="imgplat login") as raised:
        _client(cache, FakePlatform()).list_images(limit=5)
    assert f"Not signed in to {API}." in raised.value.message

"""A small client of the imgplat REST API: tokens from the cache, refreshed when they expire, errors as exceptions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx

from imgplat_cli.token_cache import Session, TokenCache

DEFAULT_API_URL = "http://127.0.0.1:3000"
TERMINAL_STATUSES = {"READY", "REJECTED", "FAILED"}
UPLOAD_CHUNK_BYTES = 64 * 1024
Progress = Callable[[int], None]  # called with the number of bytes just sent or received


class ApiError(Exception):
    """The platform refused a request; `code` and `message` are the platform's own error body."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class NotSignedIn(ApiError):
    """No session for this platform, or it can no longer be refreshed."""

    def __init__(self, message: str = "Not signed in. Run: imgplat login") -> None:
        super().__init__(401, "not_signed_in", message)


class Unreachable(Exception):
    """The platform did not answer (wrong URL, not running, network down)."""


def _error_from(answer: httpx.Response) -> ApiError:
    try:
        error = answer.json().get("error") or {}
    except ValueError:
        error = {}
    code = str(error.get("code") or f"http_{answer.status_code}")
    message = str(error.get("message") or answer.reason_phrase or "The request failed.")
    details = {key: value for key, value in error.items() if key not in {"code", "message"}}
    return ApiError(answer.status_code, code, message, details)


def _chunks(path: Path, on_progress: Progress | None) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(UPLOAD_CHUNK_BYTES):
            yield chunk
            if on_progress:
                on_progress(len(chunk))


class ImgplatClient:
    """One platform (api_url), one user's cached session, one HTTP connection pool."""

    def __init__(self, api_url: str, cache: TokenCache, http: httpx.Client | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.cache = cache
        self.http = http or httpx.Client(timeout=httpx.Timeout(30, connect=5))

    # --- plumbing -----------------------------------------------------------------------------------------------
    def _send(self, method: str, path_or_url: str, **kwargs: Any) -> httpx.Response:
        url = path_or_url if path_or_url.startswith("http") else f"{self.api_url}{path_or_url}"
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            raise Unreachable(f"Cannot reach {url}: {error}. Is the platform running (make dev)?") from error

    def _json(self, answer: httpx.Response) -> Any:
        if answer.is_error:
            raise _error_from(answer)
        return answer.json() if answer.content else None

    def probe(self) -> int:
        """The HTTP status of an unauthenticated GET /images: any answer (401 expected) means the API is up."""
        return self._send("GET", "/images", timeout=10).status_code

    def session(self) -> Session:
        """The cached session, refreshed first when its tokens have expired."""
        session = self.cache.load(self.api_url)
        if session is None:
            # Sessions are kept per platform: naming it shows a mistyped --api-url or IMGPLAT_API_URL at once.
            raise NotSignedIn(f"Not signed in to {self.api_url}. Run: imgplat login")
        return self._refreshed(session) if session.expired() else session

    def _refreshed(self, session: Session) -> Session:
        answer = self._send("POST", "/auth/refresh", json={"refresh_token": session.refresh_token})
        if answer.status_code == HTTPStatus.UNAUTHORIZED:
            self.cache.clear(self.api_url)
            raise NotSignedIn("The session has expired or was revoked. Run: imgplat login")
        tokens = self._json(answer)
        session.id_token, session.access_token = tokens["id_token"], tokens["access_token"]
        session.expires_at = time.time() + int(tokens["expires_in"])
        self.cache.save(self.api_url, session)
        return session

    def _authorized(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        session = self.session()
        answer = self._send(method, path, headers={"Authorization": f"Bearer {session.id_token}"}, **kwargs)
        if answer.status_code == HTTPStatus.UNAUTHORIZED:  # revoked or expired early: one refresh, one retry
            session = self._refreshed(session)
            answer = self._send(method, path, headers={"Authorization": f"Bearer {session.id_token}"}, **kwargs)
        return answer

    # --- accounts -----------------------------------------------------------------------------------------------
    def sign_up(self, email: str, password: str) -> dict[str, Any]:
        return dict(self._json(self._send("POST", "/auth/signup", json={"email": email, "password": password})))

    def verify(self, email: str, code: str) -> dict[str, Any]:
        return dict(self._json(self._send("POST", "/auth/verify", json={"email": email, "code": code})))

    def resend_code(self, email: str) -> dict[str, Any]:
        return dict(self._json(self._send("POST", "/auth/resend-code", json={"email": email})))

    def forgot_password(self, email: str) -> dict[str, Any]:
        return dict(self._json(self._send("POST", "/auth/forgot-password", json={"email": email})))

    def confirm_forgot_password(self, email: str, code: str, new_password: str) -> dict[str, Any]:
        body = {"email": email, "code": code, "new_password": new_password}
        return dict(self._json(self._send("POST", "/auth/confirm-forgot-password", json=body)))

    def sign_in(self, email: str, password: str, mfa_code: Callable[[], str]) -> Session:
        """Sign in and cache the tokens for this platform; `mfa_code` is asked only for an account with TOTP on."""
        tokens = self._json(self._send("POST", "/auth/signin", json={"email": email, "password": password}))
        if tokens.get("challenge") == "SOFTWARE_TOKEN_MFA":
            second_step = {"email": email, "session": tokens["session"], "code": mfa_code()}
            tokens = self._json(self._send("POST", "/auth/signin/mfa", json=second_step))
        session = Session(
            email=email,
            id_token=tokens["id_token"],
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            expires_at=time.time() + int(tokens["expires_in"]),
        )
        self.cache.save(self.api_url, session)
        return session

    def sign_out(self) -> None:
        """Revoke every token of the user on the platform, and forget the session here whatever happens."""
        try:
            session = self.session()
            self._json(self._send("POST", "/auth/signout", json={"access_token": session.access_token}))
        finally:
            self.cache.clear(self.api_url)

    # --- two-factor sign-in (TOTP) -------------------------------------------------------------------------------
    def _with_access_token(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        session = self.session()
        return dict(self._json(self._send("POST", path, json={"access_token": session.access_token, **(body or {})})))

    def start_totp_setup(self) -> dict[str, Any]:
        return self._with_access_token("/auth/mfa/setup")

    def confirm_totp(self, code: str) -> dict[str, Any]:
        return self._with_access_token("/auth/mfa/verify", {"code": code})

    def disable_totp(self) -> dict[str, Any]:
        return self._with_access_token("/auth/mfa/disable")

    # --- images -------------------------------------------------------------------------------------------------
    def create_upload(self, content_type: str, filename: str, size: int) -> dict[str, Any]:
        body = {"content_type": content_type, "filename": filename, "size": size}
        return dict(self._json(self._authorized("POST", "/upload", json=body)))

    def put_original(self, ticket: dict[str, Any], path: Path, on_progress: Progress | None = None) -> None:
        """Send the file's bytes to the ticket's pre-signed PUT, in chunks, reporting progress."""
        put = ticket["put"]
        headers = dict(put["headers"]) | {"Content-Length": str(path.stat().st_size)}
        answer = self._send("PUT", put["url"], content=_chunks(path, on_progress), headers=headers, timeout=300)
        if not answer.is_success:
            raise ApiError(answer.status_code, "upload_refused", f"Storage refused the upload: {answer.text[:200]}")

    def get_image(self, image_id: str) -> dict[str, Any]:
        return dict(self._json(self._authorized("GET", f"/image/{image_id}")))

    def rendition_link(self, image_id: str, size: str, image_format: str) -> dict[str, Any]:
        params = {"size": size, "format": image_format}
        return dict(self._json(self._authorized("GET", f"/image/{image_id}", params=params)))

    def download(self, url: str, destination: Path) -> int:
        """Save a (pre-signed) URL's body to a file; the number of bytes written."""
        answer = self._send("GET", url, timeout=120)
        if not answer.is_success:
            raise ApiError(answer.status_code, "download_failed", "The rendition could not be downloaded.")
        destination.write_bytes(answer.content)
        return len(answer.content)

    def list_images(self, limit: int, cursor: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        return dict(self._json(self._authorized("GET", "/images", params=params)))

    def delete_image(self, image_id: str) -> None:
        self._json(self._authorized("DELETE", f"/image/{image_id}"))

    def wait_until_processed(
        self, image_id: str, on_status: Callable[[dict[str, Any]], None], timeout: float = 300, interval: float = 0.5
    ) -> dict[str, Any]:
        """Poll the image until READY, REJECTED or FAILED (or the timeout), reporting each status seen."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.get_image(image_id)
            on_status(record)
            if record["status"] in TERMINAL_STATUSES or time.monotonic() > deadline:
                return record
            time.sleep(interval)

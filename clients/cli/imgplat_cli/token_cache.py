"""The signed-in session on disk: one JSON file in the user's config dir, readable by the user only (0600)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from platformdirs import user_config_dir

# Refresh a little before expiry, so a token never runs out between the check and the request.
EXPIRY_MARGIN_SECONDS = 60
CONFIG_DIR_VARIABLE = "IMGPLAT_CONFIG_DIR"


@dataclass
class Session:
    """The tokens of one signed-in user on one platform."""

    email: str
    id_token: str
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds when the ID and access tokens expire

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at - EXPIRY_MARGIN_SECONDS


def config_dir() -> Path:
    """$IMGPLAT_CONFIG_DIR, else the platform's per-user config dir (~/.config/imgplat on Linux)."""
    return Path(os.environ.get(CONFIG_DIR_VARIABLE) or user_config_dir("imgplat"))


class TokenCache:
    """Sessions by API URL, so one machine can be signed in to the local platform and a deployment at once."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or config_dir()) / "tokens.json"

    def _read_all(self) -> dict[str, dict[str, object]]:
        try:
            return dict(json.loads(self.path.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def _write_all(self, sessions: dict[str, dict[str, object]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        # Created 0600 from the start (never briefly world-readable), then moved over the old file atomically.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(sessions, file, indent=2)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)

    def load(self, api_url: str) -> Session | None:
        """The session for this platform, or None when not signed in."""
        stored = self._read_all().get(api_url)
        try:
            return Session(**stored) if stored else None  # type: ignore[arg-type]
        except TypeError:
            return None

    def save(self, api_url: str, session: Session) -> None:
        sessions = self._read_all()
        sessions[api_url] = asdict(session)
        self._write_all(sessions)

    def clear(self, api_url: str) -> None:
        sessions = self._read_all()
        if sessions.pop(api_url, None) is not None:
            self._write_all(sessions)

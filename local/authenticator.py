"""An authenticator app in a function: the code it shows for a TOTP secret, for tests and local sign-ins.

Cognito's TOTP is RFC 6238 with its defaults (6 digits, 30 s, SHA-1) over the base32 secret AssociateSoftwareToken
hands out, which is what authenticator apps do with the otpauth:// URI of POST /auth/mfa/setup.
"""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
PERIOD_SECONDS = 30


def authenticator_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows for `secret` (base32, padding optional) at `at` (default: now)."""
    padded = secret.upper() + "=" * (-len(secret) % 8)
    # SHA-1 is what RFC 6238 and Cognito use for TOTP (an HMAC, where SHA-1 is not broken).
    totp = TOTP(base64.b32decode(padded), DIGITS, SHA1(), PERIOD_SECONDS, enforce_key_length=False)  # noqa: S303
    return totp.generate(int(time.time() if at is None else at)).decode()

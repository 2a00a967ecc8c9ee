"""The user pool's password policy, checked before Cognito is asked.

Why check it here as well: Cognito may answer a sign-up for an existing address with UsernameExistsException before
it looks at the password, so a weak password would get "invalid_password" for a new address and the usual 202 for
an existing one, which tells a stranger which addresses have accounts. Checked first, a weak password gets the same
answer for every address. The rules and wording are Cognito's (serverless.yml: UserPool.Policies.PasswordPolicy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Cognito's special characters; a space counts too, when it is neither first nor last.
COGNITO_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
POLICY_PREFIX = "Password did not conform with policy: "


@dataclass(frozen=True)
class PasswordPolicy:
    """Minimum length plus an upper-case, a lower-case, a digit and a symbol, as the user pool requires."""

    minimum_length: int = 12

    def violation(self, password: str) -> str | None:
        """Cognito's message for the first rule `password` breaks, or None when it satisfies them all."""
        if password != password.strip():
            return "Password must not begin or end with a space."
        if len(password) < self.minimum_length:
            return f"{POLICY_PREFIX}Password not long enough (at least {self.minimum_length} characters)"
        if not re.search(r"[A-Z]", password):
            return f"{POLICY_PREFIX}Password must have uppercase characters"
        if not re.search(r"[a-z]", password):
            return f"{POLICY_PREFIX}Password must have lowercase characters"
        if not re.search(r"[0-9]", password):
            return f"{POLICY_PREFIX}Password must have numeric characters"
        if not COGNITO_SYMBOLS.intersection(password):
            return f"{POLICY_PREFIX}Password must have symbol characters"
        return None

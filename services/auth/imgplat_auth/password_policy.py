"""The user pool's password policy, checked before Cognito is asked.

Why check it here as well: Cognito may answer a sign-up for an existing address with UsernameExistsException before
it looks at the password, so a weak password would get "invalid_password" for a new address and the usual 202 for
an existing one, which tells a stranger which addresses have accounts. Checked first, a weak password gets the same
answer for every address. The rules and wording are Cognito's (serverless.yml: UserPool.Policies.PasswordPolicy).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Cognito's special characters; a space counts too, when it is neither first nor last.
COGNITO_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
POLICY_PREFIX = "Password did not conform with policy: "
# The character classes the user pool requires, in the order Cognito reports them, with its wording.
CHARACTER_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda password: re.search(r"[A-Z]", password) is not None, "Password must have uppercase characters"),
    (lambda password: re.search(r"[a-z]", password) is not None, "Password must have lowercase characters"),
    (lambda password: re.search(r"[0-9]", password) is not None, "Password must have numeric characters"),
    (lambda password: not COGNITO_SYMBOLS.isdisjoint(password), "Password must have symbol characters"),
)


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
        for satisfies, message in CHARACTER_RULES:
            if not satisfies(password):
                return f"{POLICY_PREFIX}{message}"
        return None

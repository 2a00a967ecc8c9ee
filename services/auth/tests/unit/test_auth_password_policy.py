"""Specification of the password policy checked before Cognito (the user pool's policy, Cognito's wording)."""

from __future__ import annotations

import string

import pytest
from imgplat_auth.password_policy import COGNITO_SYMBOLS, PasswordPolicy

POLICY = PasswordPolicy(minimum_length=12)


@pytest.mark.parametrize("password", ["Correct-Horse-7", "aaaaaaaaA1 !", "Ab1^" * 3, "Zz9" + "é" * 8 + "`"])
def test_passwords_meeting_every_rule_pass(password):
    assert POLICY.violation(password) is None


@pytest.mark.parametrize(
    ("password", "broken_rule"),
    [
        ("Short-1a", "not long enough"),
        ("lowercase-only-1", "uppercase"),
        ("UPPERCASE-ONLY-1", "lowercase"),
        ("No-Digits-Here!", "numeric"),
        ("NoSymbolsHere123", "symbol"),
        (" Leading-space-1", "begin or end with a space"),
        ("Trailing-space-1 ", "begin or end with a space"),
    ],
)
def test_the_first_broken_rule_is_named(password, broken_rule):
    assert broken_rule in (POLICY.violation(password) or "")


def test_a_space_inside_the_password_counts_as_a_symbol():
    assert POLICY.violation("Correct Horse 7") is None


def test_non_ascii_letters_do_not_stand_in_for_the_basic_latin_ones():
    # Cognito asks for an upper-case letter of the basic Latin alphabet; "É" is not one.
    assert "uppercase" in (POLICY.violation("École-primaire-1") or "")


def test_each_cognito_symbol_satisfies_the_symbol_rule():
    for symbol in COGNITO_SYMBOLS - {" "}:
        assert POLICY.violation(f"Abcdefghij1{symbol}") is None, symbol


def test_minimum_length_comes_from_the_policy():
    assert PasswordPolicy(minimum_length=20).violation("Correct-Horse-7") is not None
    assert PasswordPolicy(minimum_length=8).violation("Horse-7a") is None


def test_letters_and_digits_are_not_symbols():
    assert not COGNITO_SYMBOLS & set(string.ascii_letters + string.digits)

"""Specification of the e-mail addresses the /auth bodies accept: an address's shape and a bound, Cognito the rest."""

from __future__ import annotations

import pytest
from imgplat_auth.schemas import MAX_EMAIL_LENGTH, Credentials, EmailOnly
from pydantic import ValidationError


@pytest.mark.parametrize(
    "address",
    [
        "someone@example.com",
        "first.last+tag@mail.example.co.uk",
        "o'brien@example.ie",
        "jörg@bücher.example",  # international addresses are Cognito's to take or refuse
        "x@y.z",
        f"{'a' * 64}@example.com",
    ],
)
def test_an_address_shaped_like_one_is_accepted(address: str) -> None:
    assert EmailOnly(email=address).email == address.lower()


def test_an_address_is_kept_in_lower_case_as_cognito_compares_them() -> None:
    assert Credentials(email="Someone@Example.COM", password="secret").email == "someone@example.com"


@pytest.mark.parametrize(
    "address",
    [
        "not-an-email",
        "",
        "@example.com",
        "someone@",
        "someone@localhost",  # no dot in the domain
        "someone@example..com",
        "someone@.example.com",
        "someone@example.com.",
        "some one@example.com",
        "someone@exa mple.com",
        "a@b@example.com",
        "someone@example.com\n",
        "some\x00one@example.com",
        "Someone <someone@example.com>",
        f"{'a' * 65}@example.com",  # a local part is at most 64 characters
        f"someone@{'a' * (MAX_EMAIL_LENGTH - len('someone@.com') + 1)}.com",  # 255 in all
    ],
)
def test_anything_else_is_refused_naming_the_field(address: str) -> None:
    with pytest.raises(ValidationError) as refused:
        EmailOnly(email=address)
    assert [error["loc"] for error in refused.value.errors()] == [("email",)]


def test_the_longest_address_allowed_is_accepted() -> None:
    address = f"someone@{'a' * (MAX_EMAIL_LENGTH - len('someone@.com'))}.com"
    assert len(address) == MAX_EMAIL_LENGTH
    assert EmailOnly(email=address).email == address


def test_the_published_schema_still_says_email() -> None:
    # docs/openapi.yaml and API Gateway's request models are generated from these models
    schema = EmailOnly.model_json_schema()["properties"]["email"]
    assert (schema["type"], schema["format"]) == ("string", "email")

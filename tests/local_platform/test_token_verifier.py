"""The local Cognito authorizer accepts exactly what API Gateway's would: a valid, unexpired ID token of this pool."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.api import TokenVerifier

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT_ID = "client-one"
KID = "key-1"


def _key_pair() -> tuple[rsa.RSAPrivateKey, dict]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public_jwk, "kid": KID, "alg": "RS256", "use": "sig"}


PRIVATE, PUBLIC_JWK = _key_pair()
OTHER_PRIVATE, _ = _key_pair()


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier({"keys": [PUBLIC_JWK]}, ISSUER, [CLIENT_ID])


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {"sub": "user-1", "iss": ISSUER, "aud": CLIENT_ID, "token_use": "id", "iat": now, "exp": now + 3600}
    return {**base, **overrides}


def sign(payload: dict, key=PRIVATE, kid: str = KID, algorithm: str = "RS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_valid_id_token_yields_its_claims(verifier):
    assert verifier.claims(bearer(sign(claims())))["sub"] == "user-1"


@pytest.mark.parametrize(
    ("case", "token"),
    [
        ("expired by a second", lambda: sign(claims(exp=int(time.time()) - 1))),
        ("not yet valid", lambda: sign(claims(nbf=int(time.time()) + 600))),
        ("issued in the future", lambda: sign(claims(iat=int(time.time()) + 600))),
        ("another app client", lambda: sign(claims(aud="client-two"))),
        ("another user pool", lambda: sign(claims(iss=ISSUER.replace("pool", "other")))),
        ("an access token", lambda: sign(claims(token_use="access"))),
        ("signed by another key", lambda: sign(claims(), key=OTHER_PRIVATE)),
        ("an unknown key id", lambda: sign(claims(), kid="key-2")),
        ("alg none", lambda: jwt.encode(claims(), None, algorithm="none", headers={"kid": KID})),
        ("no expiry", lambda: sign({k: v for k, v in claims().items() if k != "exp"})),
        ("garbage", lambda: "not.a.token"),
    ],
)
def test_forged_or_unfit_tokens_are_refused(verifier, case, token):
    assert verifier.claims(bearer(token())) is None, case


def test_hs256_signed_with_the_public_key_is_refused(verifier):
    # The classic confusion attack: the public key, which anyone can fetch, used as an HMAC secret.
    public_pem = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(PUBLIC_JWK))
    secret = public_pem.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": KID}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(secret, header + b"." + payload, hashlib.sha256).digest()).rstrip(
        b"="
    )
    assert verifier.claims(bearer((header + b"." + payload + b"." + signature).decode())) is None


def test_a_tampered_payload_with_the_original_signature_is_refused(verifier):
    header, _, signature = sign(claims()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(sub="someone-else")).encode()).rstrip(b"=").decode()
    assert verifier.claims(bearer(f"{header}.{forged}.{signature}")) is None


@pytest.mark.parametrize("authorization", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "bearer x"])
def test_a_missing_or_non_bearer_authorization_is_refused(verifier, authorization):
    assert verifier.claims(authorization) is None

"""Hostile callers against all four services, deployed from their own definitions into moto, in process.

Forged tokens never reach a handler; one user can never see, list, change or aim an upload at another's images;
the auth endpoints answer alike whether or not an account exists; bad bodies are clear 400s without internals.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from moto.utilities.utils import load_resource

from local.lambdas import FunctionSpec, Invocation, invoke_in_process
from local.platform import LocalPlatform, deployed_in_process

pytestmark = pytest.mark.e2e
PASSWORD = "Correct-Horse-9-Battery"
MOTO_PRIVATE_KEY = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"))


class CountingPlatform(LocalPlatform):
    """Counts handler invocations, so a test can prove a request never reached one."""

    invocations = 0

    def count(self, spec: FunctionSpec, event: Any) -> Invocation:
        self.invocations += 1
        return invoke_in_process(spec, event)


@pytest.fixture(scope="module")
def platform():
    with deployed_in_process(CountingPlatform) as local:
        local.runner = local.count
        yield local


def call(
    platform: LocalPlatform,
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    raw: str | None = None,
):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    answer = platform.request(
        method, url, headers, raw if raw is not None else (json.dumps(body) if body is not None else None)
    )
    return answer["statusCode"], answer.get("body") or ""


def tokens_for(platform: LocalPlatform, email: str) -> dict[str, str]:
    call(platform, "POST", "/auth/signup", {"email": email, "password": PASSWORD})
    call(platform, "POST", "/auth/verify", {"email": email, "code": "123456"})
    status, body = call(platform, "POST", "/auth/signin", {"email": email, "password": PASSWORD})
    assert status == 200, body
    return json.loads(body)


def resign(token: str, **changes: Any) -> str:
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(
        claims, MOTO_PRIVATE_KEY.key, algorithm="RS256", headers={"kid": jwt.get_unverified_header(token)["kid"]}
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_tokens(platform: LocalPlatform, real: dict[str, str]) -> dict[str, str]:
    id_token = real["id_token"]
    header, payload, signature = id_token.split(".")
    claims = jwt.decode(id_token, options={"verify_signature": False})
    now = int(time.time())
    public_key = json.dumps(load_resource("cognitoidp/resources/jwks-public.json")["keys"][0]).encode()
    hs_header = b64(json.dumps({"alg": "HS256", "kid": jwt.get_unverified_header(id_token)["kid"]}).encode())
    hs_signature = b64(hmac.new(public_key, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest())

    idp = platform.client("cognito-idp")
    pool_id = platform.output("auth", "UserPoolId")
    other_client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="another-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    other_app_token = idp.initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": claims["email"], "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    other_pool = idp.create_user_pool(PoolName="someone-elses-pool", UsernameAttributes=["email"])["UserPool"]["Id"]
    other_pool_client = idp.create_user_pool_client(
        UserPoolId=other_pool,
        ClientName="theirs",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=other_pool_client, Username="mallory@example.com", Password=PASSWORD)
    idp.admin_confirm_sign_up(UserPoolId=other_pool, Username="mallory@example.com")
    other_pool_token = idp.initiate_auth(
        ClientId=other_pool_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "mallory@example.com", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]

    tampered = {**claims, "sub": "someone-else"}
    return {
        "alg none": f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}.",
        "HS256 signed with the public key": f"{hs_header}.{payload}.{hs_signature}",
        "unknown kid": jwt.encode(claims, MOTO_PRIVATE_KEY.key, algorithm="RS256", headers={"kid": "unknown"}),
        "a valid token of another user pool": other_pool_token,
        "expired by 1 s": resign(id_token, exp=now - 1),
        "not yet valid": resign(id_token, nbf=now + 300, iat=now + 300),
        "another app client (audience)": other_app_token,
        "an access token": real["access_token"],
        "tampered payload, original signature": f"{header}.{b64(json.dumps(tampered).encode())}.{signature}",
        "garbage": "garbage",
    }


def test_forged_tokens_get_401_before_any_handler_runs(platform):
    real = tokens_for(platform, "victim@example.com")
    assert call(platform, "GET", "/images", token=real["id_token"])[0] == 200  # the genuine token works
    forgeries = forged_tokens(platform, real)
    before = platform.invocations
    for case, token in forgeries.items():
        for method, url in (("GET", "/images"), ("POST", "/upload"), ("GET", "/image/" + "0" * 32)):
            status, body = call(platform, method, url, {"content_type": "image/png"}, token=token)
            assert status == 401, (case, method, url, body)
            assert json.loads(body)["error"]["code"] == "unauthorized"
    assert platform.invocations == before, "a forged token reached a handler"


def test_the_gateways_own_refusals_name_the_request_id_the_access_log_has(platform):
    # Given answers API Gateway makes itself: no token (401) and no such route (403)
    for method, url in (("GET", "/images"), ("GET", "/no/such/route")):
        answer = platform.request(method, url, {"Content-Type": "application/json"})
        # Then each body carries the request id, the same as the response header an operator can search for
        request_id = json.loads(answer["body"])["error"]["request_id"]
        assert len(request_id) == 36 and answer["headers"]["x-amzn-RequestId"] == request_id, (url, answer)
    # And two requests never share one
    first, second = (platform.request("GET", "/images", {}) for _ in range(2))
    assert first["headers"]["x-amzn-RequestId"] != second["headers"]["x-amzn-RequestId"]


def test_every_image_route_hides_other_users_images(platform):
    alice = tokens_for(platform, "alice@example.com")["id_token"]
    bob = tokens_for(platform, "bob@example.com")["id_token"]
    status, body = call(platform, "POST", "/upload", {"content_type": "image/jpeg", "filename": "a.jpg"}, token=alice)
    assert status == 201
    image_id = json.loads(body)["image_id"]
    missing_id = "f" * 32

    for url in (f"/image/{image_id}", f"/image/{image_id}?size=medium", f"/image/{image_id}?size=medium&redirect=true"):
        theirs = call(platform, "GET", url, token=bob)
        nobodys = call(platform, "GET", url.replace(image_id, missing_id), token=bob)
        assert theirs == nobodys and theirs[0] == 404  # same status, same body: no existence leak

    assert call(platform, "DELETE", f"/image/{image_id}", token=bob) == call(
        platform, "DELETE", f"/image/{missing_id}", token=bob
    )
    assert call(platform, "GET", f"/image/{image_id}", token=alice)[0] == 200  # untouched by bob's delete
    listed = json.loads(call(platform, "GET", "/images?limit=100", token=bob)[1])["items"]
    assert image_id not in {item["image_id"] for item in listed}


def test_an_upload_cannot_choose_its_key_or_another_users_prefix(platform):
    alice = tokens_for(platform, "carol@example.com")
    sub = jwt.decode(alice["id_token"], options={"verify_signature": False})["sub"]
    hostile = {
        "content_type": "image/png",
        "filename": "../../originals/someone-else/x.png",
        "key": "originals/someone-else/x.png",
        "owner": "someone-else",
    }
    status, body = call(platform, "POST", "/upload", hostile, token=alice["id_token"])
    assert status in {201, 400}
    if status == 201:
        answer = json.loads(body)
        assert answer["upload"]["fields"]["key"] == f"originals/{sub}/{answer['image_id']}"
        assert "someone-else" not in answer["put"]["url"] and ".." not in answer["put"]["url"]


def test_auth_answers_do_not_reveal_whether_an_account_exists(platform):
    tokens_for(platform, "known@example.com")
    new_password = {"email": "unknown@example.com", "password": PASSWORD}
    assert call(platform, "POST", "/auth/signup", {"email": "known@example.com", "password": PASSWORD}) == call(
        platform, "POST", "/auth/signup", new_password
    )
    wrong = call(platform, "POST", "/auth/signin", {"email": "known@example.com", "password": "Wrong-Password-1!"})
    unknown = call(platform, "POST", "/auth/signin", {"email": "nobody@example.com", "password": "Wrong-Password-1!"})
    assert wrong == unknown and wrong[0] == 401
    forgot_known = call(platform, "POST", "/auth/forgot-password", {"email": "known@example.com"})
    forgot_unknown = call(platform, "POST", "/auth/forgot-password", {"email": "nobody@example.com"})
    assert forgot_known == forgot_unknown and forgot_known[0] == 202
    resend_known = call(platform, "POST", "/auth/resend-code", {"email": "known@example.com"})
    assert resend_known == call(platform, "POST", "/auth/resend-code", {"email": "nobody@example.com"})


@pytest.mark.parametrize(
    "route", ["/auth/signup", "/auth/signin", "/auth/verify", "/auth/forgot-password", "/auth/refresh", "/upload"]
)
@pytest.mark.parametrize(
    ("case", "raw", "expected"),
    [
        ("malformed JSON", '{"email": ', (400, "invalid_request")),
        ("a JSON list", "[1, 2]", (400, "invalid_request")),
        ("nested 2,000 deep", '{"email": ' + "[" * 2_000 + "]" * 2_000 + "}", (400, "body_too_deep")),
        ("oversized", json.dumps({"email": "a" * 40_000}), (413, "body_too_large")),
        ("oversized and nested 9,000 deep", "[" * 9_000 + "]" * 9_000, (413, "body_too_large")),
    ],
)
def test_malformed_deep_or_oversized_bodies_are_clear_4xx_without_internals(platform, route, case, raw, expected):
    token = tokens_for(platform, "dave@example.com")["id_token"] if route == "/upload" else None
    status, body = call(platform, "POST", route, token=token, raw=raw)
    error = json.loads(body)["error"]
    assert (status, error["code"]) == expected, (case, body)
    for leak in ("Traceback", 'File "', "botocore", "imgplat_", "Exception"):
        assert leak not in body, (case, leak)

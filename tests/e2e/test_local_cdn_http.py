"""The local platform's CDN over real HTTP: CloudFront signed URLs of renditions, checked as CloudFront checks them.

`make dev` has no CloudFront: its /cdn path on the API port plays the delivery service's distribution. It verifies
each URL's signature with the key group's public key and refuses (403) expired, altered or unsigned ones; valid ones
get the rendition with a year of immutable caching and the distribution's security headers. Retrieval signs with the
private key the platform put into the emulator's SSM (made at start, never on disk), and a URL stays the same within
its window, so the browser's cache hits.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from PIL import Image

from local.cdn import CDN_PATH, SECURITY_HEADERS, with_query
from local.launcher import RunningPlatform

from .test_local_platform_http import bearer, sign_in, wait_for_terminal_status

pytestmark = pytest.mark.e2e
# The delivery service's default signingKeyParameterName for the local stage.
SIGNING_KEY_PARAMETER = "/imgplat/local/delivery/signing-private-key"
RENDITION_CACHE_CONTROL = "public, max-age=31536000, immutable"


def photo(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), color).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def uploaded_image(platform: RunningPlatform, token: str, color: tuple[int, int, int]) -> str:
    created = requests.post(
        f"{platform.api_url}/upload", json={"content_type": "image/jpeg"}, headers=bearer(token), timeout=30
    )
    form = created.json()["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("p.jpg", photo(color))}, timeout=60)
    assert posted.status_code in {200, 204}, posted.text
    record = wait_for_terminal_status(platform, created.json()["image_id"], token)
    assert record["status"] == "READY", record
    return str(record["image_id"])


def rendition_url(platform: RunningPlatform, token: str, image_id: str, size: str = "thumb") -> str:
    answer = requests.get(f"{platform.api_url}/image/{image_id}?size={size}", headers=bearer(token), timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["url"])


def signed_by_the_platforms_key(platform: RunningPlatform, url: str, expires: int) -> str:
    """`url` (without query) signed with the private key the platform stored in the emulator's SSM."""
    ssm = boto3.client(
        "ssm", endpoint_url=platform.aws_url, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip
    pem = ssm.get_parameter(Name=SIGNING_KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    key_pair_id = parse_qs(urlsplit(url).query)["Key-Pair-Id"][0]
    signer = CloudFrontSigner(key_pair_id, lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1()))
    return str(
        signer.generate_presigned_url(url.partition("?")[0], date_less_than=datetime.fromtimestamp(expires, UTC))
    )


@pytest.fixture(scope="module")
def ada(local_platform) -> tuple[str, str]:
    token = sign_in(local_platform, "cdn-ada@example.com")
    return token, uploaded_image(local_platform, token, (180, 60, 40))


def test_a_signed_url_serves_the_rendition_cacheable_for_a_year_with_security_headers(local_platform, ada):
    token, image_id = ada
    url = rendition_url(local_platform, token, image_id)

    answer = requests.get(url, timeout=30)

    assert url.startswith(f"{local_platform.api_url}{CDN_PATH}/renditions/")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/jpeg" and answer.content[:3] == b"\xff\xd8\xff"
    assert max(Image.open(io.BytesIO(answer.content)).size) == 150  # the thumb
    assert answer.headers["Cache-Control"] == RENDITION_CACHE_CONTROL
    assert {name: answer.headers[name] for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_the_same_user_asking_again_within_the_window_gets_the_same_url(local_platform, ada):
    token, image_id = ada

    first, again = rendition_url(local_platform, token, image_id), rendition_url(local_platform, token, image_id)
    listed = requests.get(f"{local_platform.api_url}/images", headers=bearer(token), timeout=30).json()["items"]

    assert first == again
    assert [item["thumbnail_url"] for item in listed if item["image_id"] == image_id] == [first]


def test_an_expired_url_is_refused(local_platform, ada):
    token, image_id = ada
    url = rendition_url(local_platform, token, image_id)
    expired = signed_by_the_platforms_key(local_platform, url, expires=int(time.time()) - 1)
    still_valid = signed_by_the_platforms_key(local_platform, url, expires=int(time.time()) + 60)

    assert requests.get(expired, timeout=30).status_code == 403
    assert requests.get(still_valid, timeout=30).status_code == 200  # the same key, only the expiry differs


def test_a_url_with_an_altered_path_expiry_or_signature_or_none_is_refused(local_platform, ada):
    token, image_id = ada
    url = rendition_url(local_platform, token, image_id)
    signature = parse_qs(urlsplit(url).query)["Signature"][0]
    expires = int(parse_qs(urlsplit(url).query)["Expires"][0])
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    altered = {
        "path": url.replace("/thumb.jpg", "/large.jpg"),
        "expiry": with_query(url, Expires=str(expires + 3600)),
        "signature": with_query(url, Signature=flipped),
        "key pair": with_query(url, **{"Key-Pair-Id": "KSOMEONEELSE0000"}),
        "unsigned": url.partition("?")[0],
    }

    answers = {name: requests.get(changed, timeout=30) for name, changed in altered.items()}
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(altered, 403)
    assert all(answer.headers["Cache-Control"] == "no-store" for answer in answers.values())
    assert requests.get(url, timeout=30).status_code == 200  # the original still works


def test_another_users_image_gets_no_url_and_their_own_url_cannot_be_bent_onto_it(local_platform, ada):
    token, image_id = ada
    ada_url = rendition_url(local_platform, token, image_id)
    bob = sign_in(local_platform, "cdn-bob@example.com")
    bob_image = uploaded_image(local_platform, bob, (40, 60, 180))

    asked = requests.get(f"{local_platform.api_url}/image/{image_id}?size=thumb", headers=bearer(bob), timeout=30)
    bob_url = rendition_url(local_platform, bob, bob_image)
    bent = ada_url.partition("?")[0] + "?" + bob_url.partition("?")[2]  # Ada's path under Bob's signature

    assert asked.status_code == 404
    assert requests.get(bent, timeout=30).status_code == 403

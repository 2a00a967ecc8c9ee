"""Rendition URLs through the delivery service's CloudFront: signed with the key from SSM, stable within a window,
in both GET /image/{id}?size= and GET /images; without the delivery settings, S3 pre-signed URLs as before."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, quote, urlparse

import boto3
import pytest
from imgplat_common.settings import load_settings
from imgplat_retrieval.handlers import get_image, list_images
from imgplat_retrieval.store import rendition_signer

from local.cdn import SignedUrlRefused, SigningKeyPair, verify_signed_url, with_query

OWNER = "3f1c9a52-1111-4c4c-9d9d-123456789abc"
CDN_BASE_URL = "https://d111111abcdef8.cloudfront.net"
KEY_PAIR_ID = "K2JCJMDEHXQW5F"
KEY_PARAMETER = "/imgplat/test/delivery/signing-private-key"
WINDOW_SECONDS, MIN_LIFETIME_SECONDS = 3600, 900

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


@pytest.fixture(scope="module")
def key_pair() -> SigningKeyPair:
    return SigningKeyPair.generate()


@pytest.fixture
def cdn(platform, monkeypatch, key_pair):
    """The platform with the delivery service wired in: its three outputs set, the private key in SSM."""
    monkeypatch.setenv("CDN_BASE_URL", CDN_BASE_URL)
    monkeypatch.setenv("CDN_KEY_PAIR_ID", KEY_PAIR_ID)
    monkeypatch.setenv("CDN_PRIVATE_KEY_PARAMETER", KEY_PARAMETER)
    load_settings.cache_clear()
    rendition_signer.cache_clear()
    boto3.client("ssm").put_parameter(Name=KEY_PARAMETER, Value=key_pair.private_key_pem, Type="SecureString")
    return platform


def link(call_api, image_id: str, size: str = "thumb", **query: str) -> dict:
    response = call_api(
        get_image, "GET", "/image/{id}", path_parameters={"id": image_id}, query={"size": size, **query}, sub=OWNER
    )
    assert response.status == 200, response.body
    assert response.headers["Cache-Control"] == "no-store"  # the answer is not cached, the rendition is
    return response.json()


def verify(url: str, key_pair: SigningKeyPair, now: float | None = None) -> None:
    resource, _, query = url.partition("?")
    verify_signed_url(resource, query, key_pair.public_key_pem, KEY_PAIR_ID, time.time() if now is None else now)


def test_a_rendition_link_is_a_cloudfront_signed_url_of_its_key(cdn, call_api, make_record, key_pair):
    record = cdn.save(make_record(OWNER))

    body = link(call_api, record.image_id, "medium", format="webp")

    key = record.renditions["medium"].files["webp"].key
    parsed = urlparse(body["url"])
    assert f"{parsed.scheme}://{parsed.netloc}" == CDN_BASE_URL and parsed.path == "/" + quote(key)
    assert set(parse_qs(parsed.query)) == {"Expires", "Signature", "Key-Pair-Id"}
    verify(body["url"], key_pair)  # CloudFront accepts it with the key group's public key
    expires = int(parse_qs(parsed.query)["Expires"][0])
    assert expires % WINDOW_SECONDS == MIN_LIFETIME_SECONDS  # the end of a window plus the minimum lifetime
    assert MIN_LIFETIME_SECONDS < body["expires_in"] <= WINDOW_SECONDS + MIN_LIFETIME_SECONDS


def test_asking_again_within_the_window_gives_the_very_same_url(cdn, call_api, make_record):
    record = cdn.save(make_record(OWNER))

    first, again = link(call_api, record.image_id), link(call_api, record.image_id)

    assert first["url"] == again["url"]


def test_the_url_is_refused_when_its_path_or_expiry_is_altered_when_signed_by_another_key_or_expired(
    cdn, call_api, make_record, key_pair
):
    record = cdn.save(make_record(OWNER))
    url = link(call_api, record.image_id)["url"]
    expires = int(parse_qs(urlparse(url).query)["Expires"][0])

    with pytest.raises(SignedUrlRefused, match="signature"):
        verify(url.replace("/thumb.", "/large."), key_pair)
    with pytest.raises(SignedUrlRefused, match="signature"):
        verify(with_query(url, Expires=str(expires + WINDOW_SECONDS)), key_pair)
    with pytest.raises(SignedUrlRefused, match="signature"):
        verify(url, SigningKeyPair.generate())
    with pytest.raises(SignedUrlRefused, match="expired"):
        verify(url, key_pair, now=expires)


def test_the_listing_gives_each_thumbnail_the_url_get_image_gives(cdn, call_api, make_record):
    record = cdn.save(make_record(OWNER))

    page = call_api(list_images, "GET", "/images", sub=OWNER)

    assert page.headers["Cache-Control"] == "no-store"
    (item,) = page.json()["items"]
    assert item["thumbnail_url"] == link(call_api, record.image_id, "thumb")["url"]


def test_the_private_key_is_read_from_ssm_once_per_container(cdn, call_api, make_record):
    record = cdn.save(make_record(OWNER))
    first = link(call_api, record.image_id)["url"]

    # Given the parameter gone after the first request (a rotation in progress, say)
    boto3.client("ssm").delete_parameter(Name=KEY_PARAMETER)

    # Then the warm container still signs with the key it read
    assert link(call_api, record.image_id)["url"] == first


def test_without_the_delivery_settings_links_stay_s3_pre_signed(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    url = link(call_api, record.image_id)["url"]

    assert "X-Amz-Signature=" in url and "cloudfront" not in url
    page = call_api(list_images, "GET", "/images", sub=OWNER).json()
    assert "X-Amz-Signature=" in page["items"][0]["thumbnail_url"]

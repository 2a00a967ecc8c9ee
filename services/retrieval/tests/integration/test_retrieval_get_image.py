"""GET /image/{id}: the owner's record, signed links to renditions, and one answer for anything not theirs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from imgplat_common.keys import new_image_id
from imgplat_common.status import ImageStatus
from imgplat_retrieval.handlers import get_image

from .conftest import ORIGINALS_BUCKET, RENDITIONS_BUCKET, rendition_bytes

OWNER = "3f1c9a52-1111-4c4c-9d9d-123456789abc"
OTHER_OWNER = "9b2d7e10-2222-4d4d-8e8e-abcdefabcdef"
RESOURCE = "/image/{id}"
NOT_FOUND_BODY = {"error": {"code": "not_found", "message": "No such image."}}

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def get(call_api, image_id: str, sub: str | None = OWNER, **query: str):
    return call_api(get_image, "GET", RESOURCE, path_parameters={"id": image_id}, query=query or None, sub=sub)


def bucket_and_key(url: str) -> tuple[str, str]:
    """The bucket and key a pre-signed S3 URL points at (virtual-hosted style)."""
    parsed = urlparse(url)
    return parsed.hostname.split(".s3")[0], parsed.path.lstrip("/")


def test_ready_image_shows_metadata_and_renditions(platform, call_api, make_record):
    # Given a READY image of the caller
    record = platform.save(make_record(OWNER))

    # When they ask for it without a size
    response = get(call_api, record.image_id)

    # Then they see its status, metadata and every rendition smallest first, and no internal keys
    assert response.status == 200
    body = response.json()
    assert body["image_id"] == record.image_id
    assert body["status"] == "READY"
    assert body["filename"] == "holiday.jpg" and body["content_type"] == "image/jpeg"
    assert body["metadata"]["width"] == 4000 and body["metadata"]["height"] == 3000
    assert body["metadata"]["exif"]["camera_model"] == "EOS R6"
    assert body["metadata"]["dominant_color"] == "#336699"
    assert list(body["renditions"]) == ["thumb", "small", "medium", "large"]
    assert body["renditions"]["medium"] == {
        "width": 1024,
        "height": 768,
        "formats": {"jpeg": {"bytes": 3000}, "webp": {"bytes": 3001}},
    }
    assert "originals/" not in response.body and "renditions/" not in response.body
    assert "reason" not in body and "error_id" not in body


def test_pending_image_has_status_but_no_metadata(platform, call_api, make_record):
    record = platform.save(make_record(OWNER, ImageStatus.PENDING))

    body = get(call_api, record.image_id).json()

    assert body["status"] == "PENDING"
    assert "metadata" not in body and "renditions" not in body


def test_rejected_image_says_why_and_failed_image_gives_error_id(platform, call_api, make_record):
    rejected = platform.save(make_record(OWNER, ImageStatus.REJECTED))
    failed = platform.save(make_record(OWNER, ImageStatus.FAILED))

    assert get(call_api, rejected.image_id).json()["reason"] == "The file is not a JPEG, PNG or WebP image."
    assert get(call_api, failed.image_id).json()["error_id"] == "0123456789abcdef0123456789abcdef"


def test_other_users_image_is_404_identical_to_unknown_and_malformed_ids(platform, call_api, make_record):
    # Given an image that belongs to someone else
    theirs = platform.save(make_record(OTHER_OWNER))

    # When the caller asks for it, for an id nobody has, and for ids the platform never makes
    answers = [
        get(call_api, theirs.image_id),
        get(call_api, theirs.image_id, size="medium"),
        get(call_api, new_image_id()),
        get(call_api, "not-an-id"),
        get(call_api, theirs.image_id.upper()),
    ]

    # Then every answer is the same 404, so nothing can be learned about other users' ids
    assert [a.status for a in answers] == [404] * len(answers)
    assert all(a.json() == NOT_FOUND_BODY for a in answers)


def test_medium_jpeg_link_points_at_the_rendition_never_the_original(platform, call_api, make_record):
    # Given a READY image
    record = platform.save(make_record(OWNER))

    # When the owner asks for the medium JPEG
    response = get(call_api, record.image_id, size="medium")

    # Then the answer is a short-lived link to the medium JPEG rendition object
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    expected = record.renditions["medium"].files["jpeg"]
    assert {k: body[k] for k in ("image_id", "size", "format", "expires_in", "width", "height", "bytes")} == {
        "image_id": record.image_id,
        "size": "medium",
        "format": "jpeg",
        "expires_in": 300,
        "width": expected.width,
        "height": expected.height,
        "bytes": expected.bytes,
    }
    assert body["metadata"]["sha256"] == record.sha256
    bucket, key = bucket_and_key(body["url"])
    assert bucket == RENDITIONS_BUCKET and bucket != ORIGINALS_BUCKET
    assert key == expected.key and key.startswith("renditions/") and "originals/" not in body["url"]
    query = parse_qs(urlparse(body["url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    assert query["response-content-type"] == ["image/jpeg"]
    # And the key it names really holds the rendition's bytes
    downloaded = platform.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert downloaded == rendition_bytes(expected.key)


def test_webp_link_points_at_the_webp_rendition(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    body = get(call_api, record.image_id, size="small", format="webp").json()

    _, key = bucket_and_key(body["url"])
    assert body["format"] == "webp"
    assert key == record.renditions["small"].files["webp"].key and key.endswith("/small.webp")
    assert parse_qs(urlparse(body["url"]).query)["response-content-type"] == ["image/webp"]


CHROMIUM_IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def get_accepting(call_api, image_id: str, accept: str, **query: str):
    return call_api(
        get_image, "GET", RESOURCE, path_parameters={"id": image_id}, query=query, sub=OWNER, headers={"Accept": accept}
    )


def test_auto_gives_a_browser_the_avif_rendition_and_varies_on_accept(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = get_accepting(call_api, record.image_id, CHROMIUM_IMAGE_ACCEPT, size="thumb", format="auto")

    assert response.status == 200
    assert response.headers["Vary"] == "Accept" and response.headers["Cache-Control"] == "no-store"
    body = response.json()
    _, key = bucket_and_key(body["url"])
    assert body["format"] == "avif"
    assert key == record.renditions["thumb"].files["avif"].key and key.endswith("/thumb.avif")
    assert parse_qs(urlparse(body["url"]).query)["response-content-type"] == ["image/avif"]


def test_without_format_an_accept_header_negotiates_and_the_redirect_follows_it(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = get_accepting(call_api, record.image_id, "image/webp,*/*;q=0.8", size="small", redirect="true")

    assert response.status == 302 and response.headers["Vary"] == "Accept"
    assert bucket_and_key(response.headers["Location"])[1] == record.renditions["small"].files["webp"].key


def test_auto_gives_jpeg_to_a_client_that_only_accepts_jpeg(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    body = get_accepting(call_api, record.image_id, "image/jpeg", size="thumb", format="auto").json()

    assert body["format"] == "jpeg" and body["url"].split("?")[0].endswith("/thumb.jpg")


def test_an_explicit_format_ignores_accept_and_does_not_vary(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = get_accepting(call_api, record.image_id, CHROMIUM_IMAGE_ACCEPT, size="thumb", format="jpeg")

    assert response.json()["format"] == "jpeg" and "Vary" not in response.headers


def test_avif_of_a_size_without_avif_is_400_listing_its_formats(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = get(call_api, record.image_id, size="large", format="avif")

    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_format" and error["allowed"] == ["jpeg", "webp"]


@pytest.mark.parametrize("query", [{"format": "webp"}, {"format": "auto"}, {"redirect": "true"}])
def test_format_or_redirect_without_a_size_is_400_not_silently_the_description(platform, call_api, make_record, query):
    record = platform.save(make_record(OWNER))

    response = get(call_api, record.image_id, **query)

    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == "size_required" and "size" in error["message"]


def _written_only_as_webp(record):
    """The record as processing writes it with renditionFormats=webp (and no AVIF)."""
    renditions = {
        name: rendition.model_copy(update={"files": {"webp": rendition.files["webp"]}})
        for name, rendition in record.renditions.items()
    }
    return record.model_copy(update={"renditions": renditions})


def test_an_image_written_only_as_webp_is_linked_as_webp_without_format_or_accept(platform, call_api, make_record):
    record = platform.save(_written_only_as_webp(make_record(OWNER)))

    response = get(call_api, record.image_id, size="medium")

    assert response.status == 200 and response.headers["Vary"] == "Accept"
    body = response.json()
    assert body["format"] == "webp"
    assert bucket_and_key(body["url"])[1] == record.renditions["medium"].files["webp"].key


def test_jpeg_of_an_image_written_only_as_webp_is_400_naming_webp(platform, call_api, make_record):
    record = platform.save(_written_only_as_webp(make_record(OWNER)))

    response = get(call_api, record.image_id, size="medium", format="jpeg")

    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_format" and error["allowed"] == ["webp"]
    assert error["message"] == "Size 'medium' is not available as jpeg. Choose one of: webp."


def test_link_lifetime_follows_the_setting(platform, call_api, make_record, monkeypatch):
    from imgplat_common.settings import load_settings

    monkeypatch.setenv("URL_EXPIRES_SECONDS", "60")
    load_settings.cache_clear()
    record = platform.save(make_record(OWNER))

    body = get(call_api, record.image_id, size="thumb").json()

    assert body["expires_in"] == 60
    assert parse_qs(urlparse(body["url"]).query)["X-Amz-Expires"] == ["60"]


def test_redirect_answers_302_to_the_signed_url(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = get(call_api, record.image_id, size="large", redirect="true")

    assert response.status == 302
    assert response.headers["Cache-Control"] == "no-store"
    bucket, key = bucket_and_key(response.headers["Location"])
    assert (bucket, key) == (RENDITIONS_BUCKET, record.renditions["large"].files["jpeg"].key)


def test_redirect_false_answers_json(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = get(call_api, record.image_id, size="large", redirect="false")

    assert response.status == 200 and "url" in response.json()


def test_size_of_pending_image_is_409_with_status(platform, call_api, make_record):
    record = platform.save(make_record(OWNER, ImageStatus.PENDING))

    response = get(call_api, record.image_id, size="medium")

    assert response.status == 409
    error = response.json()["error"]
    assert error["code"] == "not_ready" and error["status"] == "PENDING"
    assert "reason" not in error


def test_size_of_rejected_image_is_409_with_reason(platform, call_api, make_record):
    record = platform.save(make_record(OWNER, ImageStatus.REJECTED))

    error = get(call_api, record.image_id, size="thumb").json()["error"]

    assert error["code"] == "not_ready"
    assert error["status"] == "REJECTED"
    assert error["reason"] == "The file is not a JPEG, PNG or WebP image."


def test_unknown_size_is_400_listing_the_images_sizes(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = get(call_api, record.image_id, size="huge")

    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_size"
    assert error["allowed"] == ["thumb", "small", "medium", "large"]


@pytest.mark.parametrize("image_format", ["gif", "JPEG", "png", ""])
def test_unknown_format_is_400_listing_the_formats(platform, call_api, make_record, image_format):
    record = platform.save(make_record(OWNER))

    response = get(call_api, record.image_id, size="medium", format=image_format)

    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"][0]["field"] == "query.format"
    assert "'jpeg'" in error["fields"][0]["problem"] and "'webp'" in error["fields"][0]["problem"]


def test_request_without_claims_is_401(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = get(call_api, record.image_id, sub=None)

    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_browser_request_gets_cors_headers(platform, call_api, make_record):
    record = platform.save(make_record(OWNER))

    response = call_api(
        get_image,
        "GET",
        RESOURCE,
        path_parameters={"id": record.image_id},
        sub=OWNER,
        headers={"origin": "https://app.example.com"},
    )

    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"

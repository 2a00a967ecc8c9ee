"""GET /images: the caller's images only, newest first, paged with an opaque cursor."""

from __future__ import annotations

import base64
from urllib.parse import urlparse

import pytest
from imgplat_common.keys import new_image_id
from imgplat_common.status import ImageStatus
from imgplat_retrieval.handlers import list_images

OWNER = "3f1c9a52-1111-4c4c-9d9d-123456789abc"
OTHER_OWNER = "9b2d7e10-2222-4d4d-8e8e-abcdefabcdef"
RESOURCE = "/images"
START_MS = 1_790_000_000_000

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


def list_page(call_api, sub: str | None = OWNER, **query: str):
    return call_api(list_images, "GET", RESOURCE, query=query or None, sub=sub)


def save_images(platform, make_record, owner: str, count: int, first_ms: int = START_MS) -> list[str]:
    """`count` images of `owner`, one second apart; their ids oldest first."""
    ids = [new_image_id(now_ms=first_ms + second * 1000) for second in range(count)]
    for image_id in ids:
        platform.save(make_record(owner, image_id=image_id), with_objects=False)
    return ids


def test_paging_through_25_images_returns_all_newest_first_without_duplicates(platform, call_api, make_record):
    # Given 25 images of the caller, interleaved in time with 25 of another user
    mine = save_images(platform, make_record, OWNER, 25)
    theirs = save_images(platform, make_record, OTHER_OWNER, 25, first_ms=START_MS + 500)

    # When the caller pages through with limit 10
    pages, cursor = [], None
    while True:
        query = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        response = list_page(call_api, **query)
        assert response.status == 200
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    # Then they see exactly their 25 images, newest first, 10 + 10 + 5 (maybe an empty last page), never others'
    listed = [item["image_id"] for page in pages for item in page]
    assert listed == list(reversed(mine))
    assert [len(page) for page in pages[:3]] == [10, 10, 5]
    assert not set(listed) & set(theirs)


def test_items_summarise_each_image(platform, call_api, make_record):
    ready = platform.save(make_record(OWNER, image_id=new_image_id(now_ms=START_MS)), with_objects=False)
    pending = platform.save(
        make_record(OWNER, ImageStatus.PENDING, image_id=new_image_id(now_ms=START_MS + 1)), with_objects=False
    )

    body = list_page(call_api).json()
    thumbnail_url = body["items"][1]["thumbnail_url"]

    assert body["next_cursor"] is None
    assert body["items"] == [
        {
            "image_id": pending.image_id,
            "status": "PENDING",
            "created_at": pending.created_at,
            "filename": "holiday.jpg",
            "width": None,
            "height": None,
            "placeholder": None,
            "dominant_color": None,
            "thumbnail_url": None,
        },
        {
            "image_id": ready.image_id,
            "status": "READY",
            "created_at": ready.created_at,
            "filename": "holiday.jpg",
            "width": 4000,
            "height": 3000,
            "placeholder": ready.placeholder,
            "dominant_color": "#336699",
            "thumbnail_url": thumbnail_url,
        },
    ]
    # The thumbnail is the smallest rendition as JPEG, pre-signed on the renditions bucket (no CDN here)
    assert urlparse(thumbnail_url).path.endswith(ready.renditions["thumb"].files["jpeg"].key)
    assert "X-Amz-Signature=" in thumbnail_url


def test_default_page_is_20(platform, call_api, make_record):
    save_images(platform, make_record, OWNER, 21)

    body = list_page(call_api).json()

    assert len(body["items"]) == 20 and body["next_cursor"]


def test_caller_without_images_gets_an_empty_list(platform, call_api, make_record):
    save_images(platform, make_record, OTHER_OWNER, 3)

    assert list_page(call_api).json() == {"items": [], "next_cursor": None}


def test_a_cursor_never_reaches_another_users_images(platform, call_api, make_record):
    # Given another user's images, and a cursor made from one of their ids
    theirs = save_images(platform, make_record, OTHER_OWNER, 3)
    cursor = base64.urlsafe_b64encode(theirs[-1].encode()).decode().rstrip("=")

    # When the caller lists with it, they still only ever see their own partition
    assert list_page(call_api, cursor=cursor).json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_limit_outside_1_to_100_is_400(platform, call_api, limit):
    response = list_page(call_api, limit=limit)

    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["fields"][0]["field"] == "query.limit"


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor", "Zm9v", "Zm9vYmFy", "!!!!", base64.urlsafe_b64encode(b"../../etc/passwd").decode(), "A" * 200],
)
def test_bad_cursor_is_400_invalid_cursor(platform, call_api, cursor):
    response = list_page(call_api, cursor=cursor)

    assert response.status == 400
    assert response.json()["error"] == {
        "code": "invalid_cursor",
        "message": "The cursor is not valid. Start again without one.",
    }


def test_request_without_claims_is_401(platform, call_api):
    assert list_page(call_api, sub=None).status == 401

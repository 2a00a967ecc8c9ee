"""The retrieval logic on its own, with a small in-memory store instead of AWS."""

from __future__ import annotations

import random

import pytest
from imgplat_common.errors import BadRequest, Conflict, NotFound
from imgplat_common.image_events import ImageDeleted, ImageEvent
from imgplat_common.keys import new_image_id, original_key, rendition_prefix
from imgplat_common.models import RENDITION_FORMATS, ImageRecord, Rendition
from imgplat_common.status import ImageStatus
from imgplat_retrieval.deletion import ForeignOriginalKeyError, delete_image
from imgplat_retrieval.images import (
    RenditionFormat,
    RequestedFormat,
    describe_image,
    link_rendition,
    requested_format,
)
from imgplat_retrieval.listing import decode_cursor, encode_cursor, list_images
from imgplat_retrieval.ownership import find_image
from imgplat_retrieval.rendition_urls import UrlIssuer, UrlLifetime, thumbnail_url, url_lifetime
from imgplat_retrieval.settings import RetrievalSettings

OWNER = "3f1c9a52-1111-4c4c-9d9d-123456789abc"
OTHER_OWNER = "9b2d7e10-2222-4d4d-8e8e-abcdefabcdef"
NOW = 1_800_000_000  # a fixed clock: 2027-01-15T08:00:00Z
HOUR = 3600


S3_LIFETIME = UrlLifetime(300)


def issuer(lifetime: UrlLifetime = S3_LIFETIME, now: int = NOW) -> UrlIssuer:
    return UrlIssuer(FakeStore(), lifetime, now)


class FakeStore:
    """Records keyed (owner, image_id) and object keys, like the table and the buckets; logs every call."""

    def __init__(self, *records: ImageRecord) -> None:
        self.records = {(r.owner, r.image_id): r for r in records}
        self.originals = {r.original_key for r in records}
        self.renditions = {
            f.key for r in records for rendition in r.renditions.values() for f in rendition.files.values()
        }
        self.calls: list[str] = []
        self.fail_on: str | None = None
        self.events: list[ImageEvent] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_on:
            raise RuntimeError(f"{name} failed")

    def get_image(self, owner: str, image_id: str) -> ImageRecord | None:
        self._call("get_image")
        return self.records.get((owner, image_id))

    def list_images(self, owner: str, limit: int, after_image_id: str | None) -> tuple[list[ImageRecord], str | None]:
        ids = sorted((i for o, i in self.records if o == owner), reverse=True)
        if after_image_id:
            ids = [i for i in ids if i < after_image_id]
        page = ids[:limit]
        return [self.records[(owner, i)] for i in page], (page[-1] if len(ids) > limit else None)

    def rendition_url(self, key: str, content_type: str, expires_at: int) -> str:
        return f"https://renditions.example/{key}?type={content_type}&expires={expires_at}"

    def delete_original(self, key: str) -> None:
        self._call("delete_original")
        self.originals.discard(key)

    def delete_renditions(self, prefix: str) -> int:
        self._call("delete_renditions")
        doomed = {key for key in self.renditions if key.startswith(prefix)}
        self.renditions -= doomed
        return len(doomed)

    def delete_image_record(self, owner: str, image_id: str) -> bool:
        self._call("delete_image_record")
        return self.records.pop((owner, image_id), None) is not None

    def publish_event(self, event: ImageEvent) -> None:
        self._call("publish_event")
        self.events.append(event)


# find_image


def test_malformed_id_is_not_found_without_reading_the_table(make_record):
    store = FakeStore(make_record(OWNER))

    with pytest.raises(NotFound, match=r"No such image\."):
        find_image(store, OWNER, "../../etc/passwd")
    assert store.calls == []


def test_other_users_image_is_not_found_like_an_unknown_one(make_record):
    theirs = make_record(OTHER_OWNER)
    store = FakeStore(theirs)

    with pytest.raises(NotFound) as other_users:
        find_image(store, OWNER, theirs.image_id)
    with pytest.raises(NotFound) as unknown:
        find_image(store, OWNER, new_image_id())

    assert (other_users.value.message, other_users.value.details) == (unknown.value.message, unknown.value.details)


# describe_image


def test_description_of_ready_image_lists_renditions_smallest_first(make_record):
    record = make_record(OWNER)
    shuffled = dict(random.Random(7).sample(sorted(record.renditions.items()), k=len(record.renditions)))
    record = record.model_copy(update={"renditions": shuffled})

    view = describe_image(record)

    assert list(view.renditions or {}) == ["thumb", "small", "medium", "large"]
    assert view.metadata is not None and view.metadata.processing_ms == 180


@pytest.mark.parametrize("status", [ImageStatus.PENDING, ImageStatus.PROCESSING])
def test_description_of_unfinished_image_has_no_metadata_reason_or_error(make_record, status):
    view = describe_image(make_record(OWNER, status)).model_dump(mode="json")

    assert view["status"] == status.value
    assert not {"metadata", "renditions", "reason", "error_id"} & set(view)


@pytest.mark.parametrize(("status", "key"), [(ImageStatus.REJECTED, "reason"), (ImageStatus.FAILED, "error_id")])
def test_description_of_a_refused_image_answers_its_key_even_when_null(make_record, status, key):
    # Given a REJECTED (FAILED) image whose reason (error id) was never recorded
    record = make_record(OWNER, status, **{key: None})
    # When it is described, Then the answer still has the key, as null, and nothing of the other statuses
    view = describe_image(record).model_dump(mode="json")
    assert view[key] is None
    assert not {"metadata", "renditions", "reason", "error_id"} - {key} & set(view)


def test_rendition_without_jpeg_takes_its_size_from_webp(make_record):
    record = make_record(OWNER)
    thumb = record.renditions["thumb"]
    webp_only = Rendition(name="thumb", long_edge=160, files={"webp": thumb.files["webp"]})
    record = record.model_copy(update={"renditions": {"thumb": webp_only}})

    assert describe_image(record).model_dump(mode="json")["renditions"]["thumb"] == {
        "width": 160,
        "height": 120,
        "formats": {"webp": {"bytes": thumb.files["webp"].bytes}},
    }


# link_rendition


def test_link_signs_the_rendition_key_with_the_formats_content_type(make_record):
    record = make_record(OWNER)

    link = link_rendition(record, "medium", RequestedFormat.WEBP, issuer(UrlLifetime(120)))

    key = record.renditions["medium"].files["webp"].key
    assert link.url == f"https://renditions.example/{key}?type=image/webp&expires={NOW + 120}"
    assert link.expires_in == 120 and link.size == "medium" and link.format == "webp"


def test_link_to_failed_image_is_not_ready_with_error_id(make_record):
    record = make_record(OWNER, ImageStatus.FAILED)

    with pytest.raises(Conflict) as raised:
        link_rendition(record, "medium", RequestedFormat.JPEG, issuer())

    assert raised.value.code == "not_ready"
    assert raised.value.details == {"status": "FAILED", "error_id": record.error_id}


def test_link_to_processing_image_is_not_ready(make_record):
    with pytest.raises(Conflict) as raised:
        link_rendition(make_record(OWNER, ImageStatus.PROCESSING), "x", RequestedFormat.JPEG, issuer())

    assert raised.value.details == {"status": "PROCESSING"}
    assert "being processed" in raised.value.message


def test_link_to_a_reserved_image_says_its_file_may_not_have_come(make_record):
    # PENDING: the upload was reserved; nothing says the file was ever sent, so "being processed" could be untrue
    with pytest.raises(Conflict) as raised:
        link_rendition(make_record(OWNER, ImageStatus.PENDING), "x", RequestedFormat.JPEG, issuer())

    assert raised.value.details == {"status": "PENDING"}
    assert "not been received" in raised.value.message and "being processed" not in raised.value.message


def test_unknown_size_lists_the_sizes_the_image_has(make_record):
    record = make_record(OWNER)
    record = record.model_copy(update={"renditions": {"thumb": record.renditions["thumb"]}})

    with pytest.raises(BadRequest) as raised:
        link_rendition(record, "large", RequestedFormat.JPEG, issuer())

    assert raised.value.code == "invalid_size" and raised.value.details == {"allowed": ["thumb"]}


def test_format_a_rendition_lacks_is_400_listing_what_it_has(make_record):
    record = make_record(OWNER)
    jpeg_only = Rendition(name="large", long_edge=1600, files={"jpeg": record.renditions["large"].files["jpeg"]})
    record = record.model_copy(update={"renditions": {"large": jpeg_only}})

    with pytest.raises(BadRequest) as raised:
        link_rendition(record, "large", RequestedFormat.WEBP, issuer())

    assert raised.value.code == "invalid_format" and raised.value.details == {"allowed": ["jpeg"]}


def test_rendition_formats_match_the_shared_contract():
    assert tuple(f.value for f in RenditionFormat) == RENDITION_FORMATS
    assert {f.value for f in RequestedFormat} == {*RENDITION_FORMATS, "auto"}


# format=auto and the Accept header

CHROMIUM_IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def _auto_format(record: ImageRecord, size: str, accept: str | None) -> str:
    link = link_rendition(record, size, RequestedFormat.AUTO, issuer(), accept=accept)
    assert link.url.endswith(f"type=image/{link.format}&expires={NOW + 300}")
    return link.format


def test_auto_gives_chromium_avif_where_the_size_has_it_and_webp_where_not(make_record):
    record = make_record(OWNER)

    assert _auto_format(record, "thumb", CHROMIUM_IMAGE_ACCEPT) == "avif"
    assert _auto_format(record, "large", CHROMIUM_IMAGE_ACCEPT) == "webp"


def test_auto_gives_jpeg_to_a_client_that_only_accepts_jpeg_or_names_no_image_type(make_record):
    record = make_record(OWNER)

    assert _auto_format(record, "thumb", "image/jpeg") == "jpeg"
    assert _auto_format(record, "thumb", "*/*") == "jpeg"  # curl: a wildcard says nothing about AVIF
    assert _auto_format(record, "thumb", "application/json") == "jpeg"  # nothing acceptable: JPEG anyway
    assert _auto_format(record, "thumb", None) == "jpeg"


def test_auto_follows_q_values_and_refusals(make_record):
    record = make_record(OWNER)

    assert _auto_format(record, "small", "image/avif;q=0.5, image/webp;q=0.9, image/jpeg;q=0.1") == "webp"
    assert _auto_format(record, "small", "image/avif;q=0, image/*") == "jpeg"
    assert _auto_format(record, "small", "IMAGE/AVIF;Q=0.2, image/jpeg;q=0.1") == "avif"


def test_auto_on_a_rendition_without_jpeg_falls_back_to_what_it_has(make_record):
    record = make_record(OWNER)
    webp_only = Rendition(name="thumb", long_edge=160, files={"webp": record.renditions["thumb"].files["webp"]})
    record = record.model_copy(update={"renditions": {"thumb": webp_only}})

    assert _auto_format(record, "thumb", "image/jpeg") == "webp"


def test_avif_of_a_size_without_avif_is_400_listing_what_it_has(make_record):
    with pytest.raises(BadRequest) as raised:
        link_rendition(make_record(OWNER), "large", RequestedFormat.AVIF, issuer())

    assert raised.value.code == "invalid_format" and raised.value.details == {"allowed": ["jpeg", "webp"]}


def _webp_only(record: ImageRecord) -> ImageRecord:
    """The record as processing writes it with renditionFormats=webp (and no AVIF)."""
    renditions = {
        name: rendition.model_copy(update={"files": {"webp": rendition.files["webp"]}})
        for name, rendition in record.renditions.items()
    }
    return record.model_copy(update={"renditions": renditions})


def test_without_format_a_request_negotiates_and_one_without_an_accept_header_gets_jpeg(make_record):
    record = make_record(OWNER)

    assert requested_format(None) is RequestedFormat.AUTO
    assert requested_format(RequestedFormat.WEBP) is RequestedFormat.WEBP
    assert _auto_format(record, "large", None) == "jpeg"
    assert _auto_format(record, "large", "") == "jpeg"


def test_an_image_written_only_as_webp_is_served_as_webp_to_any_client_that_names_no_format(make_record):
    record = _webp_only(make_record(OWNER))

    for accept in (None, "*/*", "image/jpeg", "image/avif", CHROMIUM_IMAGE_ACCEPT):
        assert _auto_format(record, "thumb", accept) == "webp"


def test_jpeg_of_an_image_written_only_as_webp_is_400_naming_webp(make_record):
    record = _webp_only(make_record(OWNER))

    with pytest.raises(BadRequest) as raised:
        link_rendition(record, "medium", RequestedFormat.JPEG, issuer())

    assert raised.value.code == "invalid_format" and raised.value.details == {"allowed": ["webp"]}
    assert "not available as jpeg" in raised.value.message and "webp" in raised.value.message


# listing


def test_cursor_round_trips_any_image_id():
    for _ in range(200):
        image_id = new_image_id(now_ms=random.randrange(0, 16**12))
        cursor = encode_cursor(image_id)
        assert "=" not in cursor and "/" not in cursor and "+" not in cursor
        assert decode_cursor(cursor) == image_id


@pytest.mark.parametrize("cursor", ["Zm9v", "%%%", "a b", "A" * 65, encode_cursor("x" * 32), encode_cursor("A" * 32)])
def test_cursor_that_does_not_hold_an_image_id_is_invalid(cursor):
    with pytest.raises(BadRequest) as raised:
        decode_cursor(cursor)

    assert raised.value.code == "invalid_cursor"


def test_empty_cursor_starts_from_the_newest(make_record):
    record = make_record(OWNER)

    assert list_images(FakeStore(record), OWNER, 20, "", issuer()).items[0].image_id == record.image_id


def test_listing_pages_through_only_the_owners_images_newest_first(make_record):
    mine = [make_record(OWNER, image_id=new_image_id(now_ms=1000 + n)) for n in range(7)]
    store = FakeStore(*mine, *(make_record(OTHER_OWNER) for _ in range(5)))

    listed, cursor = [], None
    while True:
        page = list_images(store, OWNER, 3, cursor, issuer())
        listed += [item.image_id for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert listed == [r.image_id for r in reversed(mine)]


# rendition URLs: window-aligned expiry (CloudFront), fixed lifetime (S3), thumbnails in the listing


def test_a_windowed_url_expires_at_the_end_of_its_window_plus_the_minimum_lifetime():
    lifetime = UrlLifetime(min_lifetime_seconds=900, window_seconds=HOUR)
    window_start = NOW - NOW % HOUR

    expiries = {lifetime.expires_at(window_start + offset) for offset in (0, 1, HOUR // 2, HOUR - 1)}

    assert expiries == {window_start + HOUR + 900}
    assert lifetime.expires_at(window_start + HOUR) == window_start + 2 * HOUR + 900  # the next window


def test_a_windowed_url_always_lives_at_least_its_minimum_and_at_most_a_window_more():
    lifetime = UrlLifetime(min_lifetime_seconds=900, window_seconds=HOUR)
    for now in range(NOW, NOW + 2 * HOUR, 97):
        assert 900 < lifetime.expires_at(now) - now <= HOUR + 900


def test_an_unaligned_url_lives_exactly_its_lifetime():
    assert UrlLifetime(300).expires_at(NOW + 17) == NOW + 17 + 300


def test_the_same_rendition_within_a_window_gets_the_same_link(make_record):
    record = make_record(OWNER)
    lifetime = UrlLifetime(min_lifetime_seconds=900, window_seconds=HOUR)
    window_start = NOW - NOW % HOUR

    first = link_rendition(record, "thumb", RequestedFormat.JPEG, issuer(lifetime, window_start + 5))
    later = link_rendition(record, "thumb", RequestedFormat.JPEG, issuer(lifetime, window_start + HOUR - 5))
    next_window = link_rendition(record, "thumb", RequestedFormat.JPEG, issuer(lifetime, window_start + HOUR))

    assert first.url == later.url and next_window.url != first.url
    assert first.expires_in == HOUR + 900 - 5 and later.expires_in == 905  # the real remaining lifetime


def test_cdn_settings_choose_window_aligned_urls_and_without_them_s3_lifetimes():
    base = {"images_table": "t", "originals_bucket": "o", "renditions_bucket": "r", "event_bus_name": "e"}
    cdn = {"cdn_base_url": "https://cdn.example", "cdn_key_pair_id": "K1", "cdn_private_key_parameter": "/imgplat/k"}

    assert url_lifetime(RetrievalSettings(**base)) == UrlLifetime(300)
    assert url_lifetime(RetrievalSettings(**base, **cdn)) == UrlLifetime(HOUR // 4, HOUR)


@pytest.mark.parametrize(
    "partial",
    [{"cdn_base_url": "https://cdn.example"}, {"cdn_base_url": "https://cdn.example", "cdn_key_pair_id": "K1"}],
)
def test_cdn_settings_come_all_together_or_not_at_all(partial):
    with pytest.raises(ValueError, match="together"):
        RetrievalSettings(images_table="t", originals_bucket="o", renditions_bucket="r", event_bus_name="e", **partial)


def test_the_listing_gives_each_ready_image_its_smallest_jpeg_and_others_none(make_record):
    ready, pending = make_record(OWNER), make_record(OWNER, ImageStatus.PENDING)

    page = list_images(FakeStore(ready, pending), OWNER, 20, None, issuer())

    urls = {item.image_id: item.thumbnail_url for item in page.items}
    thumb_key = ready.renditions["thumb"].files["jpeg"].key
    assert urls == {ready.image_id: f"https://renditions.example/{thumb_key}?type=image/jpeg&expires={NOW + 300}",
                    pending.image_id: None}  # fmt: skip


def test_the_listings_thumbnail_is_the_link_get_image_gives_for_the_smallest_size(make_record):
    record = make_record(OWNER)
    lifetime = UrlLifetime(min_lifetime_seconds=900, window_seconds=HOUR)

    listed = thumbnail_url(record, issuer(lifetime))

    assert listed == link_rendition(record, "thumb", RequestedFormat.JPEG, issuer(lifetime)).url


def test_the_listings_thumbnail_of_an_image_written_only_as_webp_is_its_smallest_webp(make_record):
    record = _webp_only(make_record(OWNER))

    listed = thumbnail_url(record, issuer())

    assert listed == link_rendition(record, "thumb", RequestedFormat.WEBP, issuer()).url
    assert listed is not None and "type=image/webp" in listed


# deletion


def test_delete_removes_objects_before_the_record(make_record):
    record = make_record(OWNER)
    store = FakeStore(record)

    delete_image(store, OWNER, record.image_id)

    assert store.calls == ["get_image", "delete_original", "delete_renditions", "publish_event", "delete_image_record"]
    assert not store.records and not store.originals and not store.renditions


def test_delete_publishes_image_deleted_with_the_owner_and_image_id(make_record):
    record = make_record(OWNER)
    store = FakeStore(record)

    delete_image(store, OWNER, record.image_id)

    (event,) = store.events
    assert isinstance(event, ImageDeleted)
    assert (event.image_id, event.owner, event.status) == (record.image_id, OWNER, "DELETED")


def test_a_delete_whose_event_was_refused_keeps_the_record_and_its_retry_publishes_the_same_event_id(make_record):
    # Given EventBridge refuses the first ImageDeleted
    record = make_record(OWNER)
    store = FakeStore(record)
    store.fail_on = "publish_event"

    # When the owner deletes, then the call fails and the record stays for the retry
    with pytest.raises(RuntimeError):
        delete_image(store, OWNER, record.image_id)
    assert (OWNER, record.image_id) in store.records

    # And the retry publishes what a consumer de-duplicates against any earlier attempt that did get through
    store.fail_on = None
    delete_image(store, OWNER, record.image_id)
    (event,) = store.events
    assert event.event_id == ImageDeleted.of_image(OWNER, record.image_id).event_id
    assert not store.records


@pytest.mark.parametrize("failing_step", ["delete_original", "delete_renditions"])
def test_record_survives_when_deleting_objects_fails(make_record, failing_step):
    record = make_record(OWNER)
    store = FakeStore(record)
    store.fail_on = failing_step

    with pytest.raises(RuntimeError):
        delete_image(store, OWNER, record.image_id)

    assert (OWNER, record.image_id) in store.records


def test_delete_of_another_users_image_touches_nothing(make_record):
    theirs = make_record(OTHER_OWNER)
    store = FakeStore(theirs)

    with pytest.raises(NotFound):
        delete_image(store, OWNER, theirs.image_id)

    assert store.calls == ["get_image"]


def test_record_pointing_at_another_images_original_is_refused(make_record):
    victim_key = original_key(OTHER_OWNER, new_image_id())
    record = make_record(OWNER, original_key=victim_key)
    store = FakeStore(record)
    store.originals.add(victim_key)

    with pytest.raises(ForeignOriginalKeyError):
        delete_image(store, OWNER, record.image_id)

    assert victim_key in store.originals and store.calls == ["get_image"]


def test_delete_racing_another_delete_is_not_found(make_record):
    record = make_record(OWNER)
    store = FakeStore(record)
    original_delete_renditions = store.delete_renditions

    def concurrent_delete_first(prefix: str) -> int:
        store.records.pop((OWNER, record.image_id))
        return original_delete_renditions(prefix)

    store.delete_renditions = concurrent_delete_first  # type: ignore[method-assign]

    with pytest.raises(NotFound):
        delete_image(store, OWNER, record.image_id)
    assert not {k for k in store.renditions if k.startswith(rendition_prefix(OWNER, record.image_id))}

"""Property-based tests of the key layout: every key the platform makes parses back, nothing else parses."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imgplat_common.keys import (
    ORIGINALS_PREFIX,
    InvalidKeyError,
    is_image_id,
    new_image_id,
    original_key,
    parse_original_key,
    rendition_key,
    rendition_prefix,
)

owners = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=128)
image_ids = st.integers(min_value=0, max_value=16**12 - 1).map(lambda ms: new_image_id(now_ms=ms))
content_hashes = st.text(alphabet="0123456789abcdef", min_size=16, max_size=64)
rendition_names = st.text(alphabet=string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=32)


@given(owners, image_ids)
def test_every_original_key_the_platform_makes_parses_back_to_its_parts(owner, image_id):
    parsed = parse_original_key(original_key(owner, image_id))
    assert (parsed.owner, parsed.image_id) == (owner, image_id)
    assert str(parsed) == original_key(owner, image_id)


@given(st.text(max_size=300))
def test_any_text_either_parses_to_a_key_that_round_trips_or_is_refused_as_invalid(text):
    try:
        parsed = parse_original_key(text)
    except InvalidKeyError:
        return
    assert str(parsed) == text


@given(owners, st.text(max_size=40).filter(lambda s: not is_image_id(s)))
def test_an_original_key_with_a_foreign_image_id_is_refused(owner, not_an_id):
    with pytest.raises(InvalidKeyError):
        parse_original_key(f"{ORIGINALS_PREFIX}{owner}/{not_an_id}")


@given(owners, image_ids, content_hashes, rendition_names, st.sampled_from(["jpeg", "webp"]))
def test_rendition_keys_stay_under_their_images_prefix(owner, image_id, content_hash, name, image_format):
    key = rendition_key(owner, image_id, content_hash, name, image_format)
    assert key.startswith(rendition_prefix(owner, image_id))
    assert key.rsplit("/", 1)[1].split(".")[0] == name
    assert ".." not in key


@given(owners, image_ids, content_hashes, st.text(max_size=40), st.sampled_from(["jpeg", "webp"]))
def test_a_rendition_name_outside_lower_case_letters_digits_dash_and_underscore_is_refused(
    owner, image_id, content_hash, name, image_format
):
    allowed = set(string.ascii_lowercase + string.digits + "_-")
    try:
        rendition_key(owner, image_id, content_hash, name, image_format)
    except InvalidKeyError:
        assert not name or len(name) > 32 or not set(name) <= allowed
    else:
        assert 1 <= len(name) <= 32 and set(name) <= allowed

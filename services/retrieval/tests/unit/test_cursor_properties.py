"""Property-based tests of the list cursor: every cursor we hand out resumes where it should, nothing else does."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imgplat_common.errors import BadRequest
from imgplat_common.keys import is_image_id, new_image_id
from imgplat_retrieval.listing import decode_cursor, encode_cursor

image_ids = st.integers(min_value=0, max_value=16**12 - 1).map(lambda ms: new_image_id(now_ms=ms))


@given(image_ids)
def test_every_cursor_we_hand_out_decodes_to_its_image_id(image_id):
    assert decode_cursor(encode_cursor(image_id)) == image_id


@given(st.text(max_size=100))
def test_any_other_text_decodes_to_an_image_id_or_is_a_bad_request(text):
    try:
        image_id = decode_cursor(text)
    except BadRequest as refused:
        assert refused.code == "invalid_cursor"
    else:
        assert is_image_id(image_id)


@given(st.text(max_size=40).filter(lambda s: not is_image_id(s)))
def test_a_cursor_made_of_anything_but_an_image_id_is_refused(not_an_id):
    with pytest.raises(BadRequest):
        decode_cursor(encode_cursor(not_an_id))

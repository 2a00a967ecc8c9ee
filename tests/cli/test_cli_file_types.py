"""The content type of an upload comes from the file's first bytes; the extension only when they say nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imgplat_cli.file_types import content_type_of, is_image_file, sniff_content_type
from imgplat_cli.image_commands import files_to_upload

SIGNATURES = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "image/gif": b"GIF89a\x01\x00\x01\x00",
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "image/tiff": b"II*\x00\x08\x00\x00\x00",
    "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",
    "image/avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00",
}


@pytest.mark.parametrize(("content_type", "head"), SIGNATURES.items())
def test_each_known_signature_names_its_type(content_type, head):
    assert sniff_content_type(head) == content_type


def test_big_endian_tiff_and_an_unknown_ftyp_brand():
    assert sniff_content_type(b"MM\x00*\x00\x00\x00\x08") == "image/tiff"
    assert sniff_content_type(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00") is None  # an MP4, not an image


@pytest.mark.parametrize("name", ["holiday", "holiday.jpg", "holiday.txt"])
def test_the_bytes_win_over_a_missing_or_lying_extension(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(SIGNATURES["image/png"])
    assert content_type_of(path) == "image/png"


@pytest.mark.parametrize("content_type", ["image/heic", "image/avif"])
def test_a_phone_photo_without_an_extension_is_named_by_its_bytes(tmp_path, content_type):
    path = tmp_path / "IMG_0001"  # as some phones' file transfers name them
    path.write_bytes(SIGNATURES[content_type] + b"\x00" * 64)
    assert content_type_of(path) == content_type
    assert is_image_file(path)


def test_unknown_bytes_fall_back_to_the_extension_and_then_to_octet_stream(tmp_path):
    (tmp_path / "notes.png").write_bytes(b"<html>")
    (tmp_path / "notes").write_bytes(b"<html>")
    assert content_type_of(tmp_path / "notes.png") == "image/png"  # the platform then rejects it, with a reason
    assert content_type_of(tmp_path / "notes") == "application/octet-stream"


def test_a_folder_stands_for_the_visible_image_files_directly_in_it(tmp_path):
    (tmp_path / "b.jpg").write_bytes(SIGNATURES["image/jpeg"])
    (tmp_path / "a").write_bytes(SIGNATURES["image/webp"])
    (tmp_path / "readme.txt").write_text("hello")
    (tmp_path / ".hidden.jpg").write_bytes(SIGNATURES["image/jpeg"])
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.jpg").write_bytes(SIGNATURES["image/jpeg"])
    single = tmp_path / "readme.txt"
    assert files_to_upload([tmp_path, single]) == [tmp_path / "a", tmp_path / "b.jpg", single]
    assert not is_image_file(tmp_path / "sub")


@given(st.binary(max_size=64))
def test_any_bytes_give_a_known_image_type_or_none(head):
    assert sniff_content_type(head) in {*SIGNATURES, "image/heif", "image/heif-sequence", "image/heic-sequence", None}


@given(st.sampled_from(sorted(SIGNATURES.items())), st.binary(max_size=64))
def test_what_follows_a_signature_does_not_change_the_answer(signature, tail):
    content_type, head = signature
    assert sniff_content_type(head + tail) == content_type

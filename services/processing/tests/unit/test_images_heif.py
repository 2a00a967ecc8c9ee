"""HEIC/HEIF (through pillow-heif) and AVIF (Pillow's own plugin) originals: recognised from their bytes, held to the
same limits before any decode (grid tiles and sequence frames included), and rendered upright in sRGB."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import image_factory as factory
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from image_settings import LIMITS, limits
from imgplat_processing.images.heif_header import MalformedHeif, TooManyImageItems, read_heif_header
from imgplat_processing.images.metadata import extract_exif_summary
from imgplat_processing.images.renditions import render_renditions
from imgplat_processing.images.validate import ImageRejected, sniff_format, validate_image
from imgplat_processing.rendition_specs import RenditionSpec
from PIL import ExifTags, Image

MEDIUM = (RenditionSpec("medium", 800),)
ENCODERS = {"HEIF": factory.heic, "AVIF": factory.avif}


def marked(size: tuple[int, int] = (400, 200)) -> Image.Image:
    """Blue, with a red marker in the top-left corner as stored."""
    return factory.with_marker(factory.solid(size, factory.BLUE), factory.RED, "top-left")


def rejection(data: bytes, **changes: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        validate_image(data, limits(**changes) if changes else LIMITS)
    return caught.value


def camera_exif(orientation: int = 1) -> bytes:
    exif = factory.orientation_exif(orientation)
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15 Pro"
    return exif.tobytes()


@pytest.mark.parametrize(
    ("image_format", "mime_type"), [("HEIF", "image/heic"), ("AVIF", "image/avif")], ids=["heic", "avif"]
)
def test_heic_and_avif_are_recognised_from_their_bytes_and_accepted(image_format, mime_type):
    data = ENCODERS[image_format](factory.solid((64, 48)))

    validated = validate_image(data, LIMITS)

    assert (validated.format, validated.mime_type) == (image_format, mime_type)
    assert (validated.width, validated.height, validated.frames) == (64, 48, 1)


def test_generic_heif_brands_name_the_codec_among_the_compatible_brands():
    def ftyp(major: bytes, *compatible: bytes) -> bytes:
        body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
        return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body

    assert sniff_format(ftyp(b"mif1", b"mif1", b"heic")) == "HEIF"
    assert sniff_format(ftyp(b"mif1", b"mif1", b"avif")) == "AVIF"
    assert sniff_format(ftyp(b"msf1", b"msf1", b"avis")) == "AVIF"
    assert sniff_format(ftyp(b"isom", b"isom", b"mp41")) is None  # a video is no image
    assert sniff_format(ftyp(b"qt  ")) is None


def test_a_heic_renamed_jpg_is_read_as_the_heic_it_is():
    # The name and declared type never reach validation: the bytes do.
    validated = validate_image(factory.heic(factory.solid((64, 48))), LIMITS)

    assert validated.format == "HEIF"


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
def test_validation_never_decodes_heif_or_avif_pixels(image_format, monkeypatch):
    data = ENCODERS[image_format](factory.solid((64, 48)))
    decodes = factory.count_decodes(monkeypatch)
    validate_image(data, LIMITS)

    assert decodes == []


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
def test_an_exif_rotated_photo_is_reported_and_rendered_upright_and_turned_once(image_format):
    # libheif turns a HEIC's pixels itself (its irot/imir properties); an AVIF's turn is applied from its EXIF.
    data = ENCODERS[image_format](marked(), exif=camera_exif(orientation=6))

    validated = validate_image(data, LIMITS)
    (medium,) = (r.image for r in render_renditions(data, MEDIUM, validated.format))

    assert (validated.width, validated.height) == (200, 400)
    assert medium.size == (200, 400)
    assert factory.close_to(factory.corner_pixel(medium, "top-right"), factory.RED, 40)
    assert factory.close_to(factory.corner_pixel(medium, "bottom-left"), factory.BLUE, 40)


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
def test_camera_facts_are_read_from_heic_and_avif_exif(image_format):
    data = ENCODERS[image_format](factory.solid((64, 48)), exif=camera_exif())

    summary = extract_exif_summary(data, validate_image(data, LIMITS).format)

    assert (summary["camera_make"], summary["camera_model"]) == ("Apple", "iPhone 15 Pro")


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
def test_an_embedded_icc_profile_is_applied(image_format):
    # Grey 128 tagged as linear light is brighter once converted to sRGB (about 188): the profile was used.
    data = ENCODERS[image_format](factory.solid((64, 48), (128, 128, 128)), icc_profile=factory.linear_icc_profile())

    (medium,) = (r.image for r in render_renditions(data, MEDIUM, image_format))

    assert factory.close_to(factory.corner_pixel(medium, "top-left"), (188, 188, 188), 14)


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
def test_an_alpha_plane_is_kept(image_format):
    data = ENCODERS[image_format](Image.new("RGBA", (64, 48), (0, 200, 0, 80)))

    (medium,) = render_renditions(data, MEDIUM, validate_image(data, LIMITS).format)

    assert medium.image.mode == "RGBA"
    assert abs(medium.image.getpixel((10, 10))[3] - 80) <= 8  # type: ignore[index]


def test_a_heic_grid_is_accepted_and_rendered_whole():
    picture = marked((300, 200))
    data = factory.heic(picture, grid_tile=64)
    assert len(read_heif_header(data, 1000).coded_item_pixels) == 20  # 5 x 4 tiles

    validated = validate_image(data, LIMITS)
    (medium,) = (r.image for r in render_renditions(data, MEDIUM, "HEIF"))

    assert (validated.width, validated.height) == (300, 200)
    assert medium.size == (300, 200)
    assert factory.close_to(factory.corner_pixel(medium, "top-left"), factory.RED, 40)
    assert factory.close_to(factory.corner_pixel(medium, "bottom-right"), factory.BLUE, 40)


def test_a_grid_of_more_tiles_than_allowed_is_rejected_before_decoding():
    data = factory.heic(factory.solid((300, 200)), grid_tile=64)

    rejected = rejection(data, max_image_items=19)

    assert rejected.code == "too_many_parts"
    assert "19" in rejected.reason


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
def test_a_header_claiming_huge_dimensions_is_rejected_before_decoding(image_format):
    data = factory.heif_claiming(ENCODERS[image_format](factory.solid((64, 48))), 60_000, 60_000)

    assert rejection(data).code == "too_many_pixels"


def test_tiles_that_add_up_past_the_total_pixel_cap_are_rejected():
    data = factory.heic(factory.solid((300, 200)), grid_tile=64)  # 20 tiles of 64 x 64

    rejected = rejection(data, max_total_pixels=19 * 64 * 64)

    assert rejected.code == "too_many_pixels"


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
def test_a_sequence_over_the_frame_cap_is_rejected(image_format):
    frames = [factory.solid((32, 32), (index * 20, 0, 0)) for index in range(6)]
    data = ENCODERS[image_format](frames[0], save_all=True, append_images=frames[1:])

    rejected = rejection(data, max_frames=5)

    assert rejected.code == "too_many_frames"
    assert validate_image(data, LIMITS).frames == 6


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_a_truncated_file_is_rejected_with_a_reason_never_an_error(image_format, keep):
    noise = Image.merge("RGB", [Image.effect_noise((200, 150), 64) for _ in range(3)])
    whole = ENCODERS[image_format](noise)
    data = whole[: int(len(whole) * keep)]

    with pytest.raises(ImageRejected) as caught:
        validated = validate_image(data, LIMITS)
        render_renditions(data, MEDIUM, validated.format)

    assert caught.value.code in {"truncated", "corrupt", "not_an_image"}


def test_the_heif_decoder_is_loaded_only_when_a_heif_file_comes():
    # pillow-heif's libraries cost import time: steps and files that never need them must not load them.
    script = (
        "import sys, image_factory as f; from image_settings import LIMITS;"
        "from imgplat_processing import image_steps;"
        "from imgplat_processing.images.validate import validate_image;"
        "validate_image(f.jpeg(), LIMITS); validate_image(f.avif(f.solid((8, 8))), LIMITS);"
        "print('pillow_heif' in sys.modules)"
    )

    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # this run's import paths
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=environment)

    assert loaded.stdout.strip() == "False"


SMALL_HEIC = factory.heic(factory.solid((64, 48)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SMALL_HEIC) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_heic_header_is_accepted_or_rejected_never_an_error(damage):
    data = bytearray(SMALL_HEIC)
    for offset, value in damage:
        data[offset] = value

    try:
        render_renditions(bytes(data), MEDIUM, validate_image(bytes(data), LIMITS).format)
    except ImageRejected as rejected:
        assert rejected.reason.endswith(".")


@given(st.binary(max_size=256))
def test_the_box_reader_raises_only_its_own_errors(tail):
    data = b"\x00\x00\x00\x14ftypheic\x00\x00\x00\x00mif1" + tail
    with contextlib.suppress(MalformedHeif, TooManyImageItems):
        read_heif_header(data, max_coded_items=8)

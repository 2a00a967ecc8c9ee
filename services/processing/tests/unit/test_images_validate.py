"""validate_image: what is accepted, what is rejected, and that limits are enforced before any pixel is decoded."""

from __future__ import annotations

import hashlib
import pickle

import image_factory as factory
import pytest
from image_settings import LIMITS, limits
from imgplat_processing.images.validate import ImageRejected, ValidationLimits, sniff_format, validate_image


def rejection(data: bytes, limits: ValidationLimits = LIMITS) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        validate_image(data, limits)
    return caught.value


def test_plain_jpeg_is_accepted_with_its_facts():
    data = factory.jpeg((400, 300))

    validated = validate_image(data, LIMITS)

    assert validated.format == "JPEG"
    assert validated.mime_type == "image/jpeg"
    assert (validated.width, validated.height) == (400, 300)
    assert validated.frames == 1
    assert validated.mode == "RGB"
    assert validated.bytes == len(data)
    assert validated.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "image_format", "mime_type"),
    [
        (factory.png(factory.solid((30, 20))), "PNG", "image/png"),
        (factory.encode(factory.solid((30, 20)), "WEBP"), "WEBP", "image/webp"),
        (factory.palette_gif_with_transparency((30, 20)), "GIF", "image/gif"),
        (factory.encode(factory.solid((30, 20)), "TIFF"), "TIFF", "image/tiff"),
    ],
)
def test_each_allowed_format_is_recognised_by_its_magic_bytes(data, image_format, mime_type):
    validated = validate_image(data, LIMITS)

    assert (validated.format, validated.mime_type) == (image_format, mime_type)
    assert (validated.width, validated.height) == (30, 20)


def test_exif_rotated_jpeg_reports_displayed_dimensions():
    data = factory.jpeg((400, 200), exif=factory.orientation_exif(6))

    validated = validate_image(data, LIMITS)

    assert (validated.width, validated.height) == (200, 400)


def test_animated_gif_reports_its_frame_count():
    validated = validate_image(factory.animated_gif([factory.RED, factory.GREEN, factory.BLUE]), LIMITS)

    assert validated.frames == 3


def test_zero_bytes_are_rejected_as_empty():
    rejected = rejection(b"")

    assert rejected.code == "empty"


def test_file_over_the_size_cap_is_rejected_before_anything_else():
    data = factory.jpeg((400, 300))

    rejected = rejection(data, limits(max_bytes=len(data) - 1))

    assert rejected.code == "too_large"


def test_file_exactly_at_the_size_cap_is_accepted():
    data = factory.jpeg((40, 30))

    assert validate_image(data, limits(max_bytes=len(data))).bytes == len(data)


@pytest.mark.parametrize(
    "data",
    [
        factory.html_document(),
        factory.svg_document(),
        factory.pdf_document(),
        b"PK\x03\x04" + b"\x00" * 40,  # ZIP
        b"MZ\x90\x00" + b"\x00" * 60,  # Windows executable
        factory.encode(factory.solid((10, 10)), "BMP"),  # a real image, but not an allowed format
    ],
    ids=["html", "svg", "pdf", "zip", "exe", "bmp"],
)
def test_non_image_or_unlisted_format_is_rejected_as_unsupported(data):
    rejected = rejection(data)

    assert rejected.code == "unsupported_format"
    assert "JPEG" in rejected.reason


def test_format_outside_the_configured_allowlist_is_rejected():
    data = factory.encode(factory.solid((10, 10)), "TIFF")

    rejected = rejection(data, limits(allowed_formats=("JPEG", "PNG")))

    assert rejected.code == "unsupported_format"


def test_html_after_a_png_signature_is_not_an_image():
    rejected = rejection(b"\x89PNG\r\n\x1a\n" + factory.html_document())

    assert rejected.code == "not_an_image"


def test_header_over_the_pixel_cap_is_rejected_without_decoding():
    # 7000 x 7000 = 49 MP: over our 40 MP cap but under Pillow's own warning threshold. The pixel data is a few
    # bytes, so reaching the decoder would report "truncated" or "corrupt", not "too_many_pixels".
    rejected = rejection(factory.png_header_claiming(7000, 7000))

    assert rejected.code == "too_many_pixels"
    assert "7000 x 7000" in rejected.reason


def test_decompression_bomb_header_is_rejected_as_too_many_pixels():
    rejected = rejection(factory.png_header_claiming(50_000, 50_000))

    assert rejected.code == "too_many_pixels"


def test_validation_reads_headers_only_and_leaves_the_pixels_to_the_one_decode():
    # A header within the caps and no pixel data: nothing here decodes pixels, so it passes; Resize rejects it.
    validated = validate_image(factory.png_header_claiming(300, 200), LIMITS)

    assert (validated.format, validated.width, validated.height) == ("PNG", 300, 200)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_validation_never_decodes_pixels(image_format, monkeypatch):
    decodes = factory.count_decodes(monkeypatch)
    data = factory.encode(factory.solid((60, 40), mode="RGB"), image_format, exif=factory.orientation_exif(6))

    validated = validate_image(data, LIMITS)

    assert decodes == []
    assert (validated.width, validated.height) == (40, 60)  # the EXIF orientation, read from the header


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_an_orientation_given_only_in_xmp_swaps_the_displayed_size(image_format):
    data = factory.with_xmp_orientation(factory.solid((60, 40)), image_format, 8)

    validated = validate_image(data, LIMITS)

    assert (validated.width, validated.height) == (40, 60)


def test_pixel_cap_is_configurable():
    rejected = rejection(factory.png(factory.solid((100, 100))), limits(max_pixels=9_999))

    assert rejected.code == "too_many_pixels"


def test_gif_with_too_many_frames_is_rejected():
    data = factory.animated_gif([(i * 40, 0, 255 - i * 40) for i in range(5)])

    rejected = rejection(data, limits(max_frames=3))

    assert rejected.code == "too_many_frames"


def test_frames_times_pixels_cap_catches_a_long_animation_of_small_frames():
    data = factory.animated_gif([(i * 40, 0, 255 - i * 40) for i in range(5)], size=(100, 100))

    rejected = rejection(data, limits(max_total_pixels=4 * 100 * 100))

    assert rejected.code == "too_many_pixels"


def test_jpeg_with_html_appended_still_validates_as_jpeg():
    # Serving only re-encoded renditions is what makes such polyglots harmless (see the encode tests).
    validated = validate_image(factory.jpeg((40, 30)) + factory.html_document(), LIMITS)

    assert validated.format == "JPEG"


def test_rejection_reads_as_its_reason():
    rejected = ImageRejected("empty", "The file is empty.")

    assert str(rejected) == "The file is empty."
    assert (rejected.code, rejected.reason) == ("empty", "The file is empty.")


def test_rejection_survives_pickling_with_code_and_reason():
    copied = pickle.loads(pickle.dumps(ImageRejected("truncated", "The image file is incomplete.")))

    assert (copied.code, copied.reason, str(copied)) == ("truncated", "The image file is incomplete.", copied.reason)


def test_pillow_errors_never_escape_validation():
    for data in (b"\xff\xd8\xff" + b"\x00" * 50, b"GIF89a" + b"\xff" * 20, b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"II*\x00"):
        assert rejection(data).code in {"not_an_image", "corrupt", "truncated"}


def test_sniffing_ignores_everything_but_the_leading_bytes():
    assert sniff_format(b"\xff\xd8\xff\xe0rest") == "JPEG"
    assert sniff_format(b"MM\x00*rest") == "TIFF"
    assert sniff_format(b"RIFF\x10\x00\x00\x00WAVE") is None
    assert sniff_format(b"<svg") is None


def test_a_bigtiff_is_accepted_as_a_tiff():
    data = factory.encode(factory.solid((30, 20)), "TIFF", big_tiff=True)
    assert data.startswith(b"II+\x00")

    validated = validate_image(data, LIMITS)

    assert (validated.format, validated.width, validated.height) == ("TIFF", 30, 20)


def test_a_tiff_in_a_compression_the_decoder_lacks_is_rejected_for_that_reason():
    rejected = rejection(factory.tiff_compressed_with(50001))  # WebP inside TIFF (Pillow's hopper_webp.tif)

    assert rejected.code == "unsupported_compression"
    assert "WebP" in rejected.reason and "not supported" in rejected.reason


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg", "zstd"])
def test_tiffs_in_the_usual_compressions_are_accepted(compression):
    data = factory.encode(factory.solid((30, 20)), "TIFF", compression=compression)

    assert validate_image(data, LIMITS).format == "TIFF"

"""encode_rendition: outputs decode at the right size, keep or flatten alpha, and carry no metadata at all."""

from __future__ import annotations

from io import BytesIO

import image_factory as factory
import pytest
from image_settings import DEFAULT_RENDITIONS
from imgplat_common.models import RENDITION_MIME_TYPES
from imgplat_processing.images.encode import encode_rendition
from imgplat_processing.images.renditions import render_renditions
from imgplat_processing.rendition_specs import RenditionSpec
from PIL import ExifTags, Image


def decoded(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(("image_format", "pillow_format"), [("jpeg", "JPEG"), ("webp", "WEBP"), ("avif", "AVIF")])
def test_outputs_decode_with_the_rendition_size(image_format, pillow_format):
    rendered = render_renditions(factory.jpeg((1000, 500)), DEFAULT_RENDITIONS, "JPEG")

    for rendition in rendered:
        output = decoded(encode_rendition(rendition.image, image_format))
        assert output.format == pillow_format
        assert output.size == rendition.image.size


def test_jpeg_output_is_progressive_rgb():
    output = decoded(encode_rendition(factory.solid((320, 240)), "jpeg"))

    assert output.mode == "RGB"
    assert output.info.get("progressive") == 1


@pytest.mark.parametrize("image_format", ["webp", "avif"])
def test_webp_and_avif_keep_alpha(image_format):
    (rendition,) = render_renditions(factory.rgba_png((200, 100)), (RenditionSpec("thumb", 150),), "PNG")

    output = decoded(encode_rendition(rendition.image, image_format))

    assert output.mode == "RGBA"
    assert factory.corner_pixel(output, "top-right")[3] == 0
    assert factory.close_to(factory.corner_pixel(output, "top-left"), (*factory.RED, 255), 20)


def test_jpeg_flattens_alpha_on_white():
    (rendition,) = render_renditions(factory.rgba_png((200, 100)), (RenditionSpec("thumb", 150),), "PNG")

    output = decoded(encode_rendition(rendition.image, "jpeg"))

    assert factory.close_to(factory.corner_pixel(output, "top-right"), factory.WHITE, 6)
    assert factory.close_to(factory.corner_pixel(output, "top-left"), factory.RED, 20)


@pytest.mark.parametrize("image_format", ["jpeg", "webp", "avif"])
def test_gps_tagged_photo_gives_outputs_without_any_exif(image_format):
    original = factory.jpeg((800, 600), exif=factory.camera_exif_with_gps())
    assert Image.open(BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload does carry GPS

    for rendition in render_renditions(original, DEFAULT_RENDITIONS, "JPEG"):
        data = encode_rendition(rendition.image, image_format)
        output = Image.open(BytesIO(data))
        assert len(output.getexif()) == 0
        assert not output.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "exif" not in output.info and "icc_profile" not in output.info
        assert b"Exif\x00\x00" not in data and b"Canon" not in data


def test_html_appended_to_an_upload_never_reaches_an_output():
    original = factory.jpeg((400, 300)) + factory.html_document()

    for rendition in render_renditions(original, DEFAULT_RENDITIONS, "JPEG"):
        for image_format in RENDITION_MIME_TYPES:
            assert b"<script" not in encode_rendition(rendition.image, image_format)


def test_format_names_map_to_mime_types():
    assert RENDITION_MIME_TYPES == {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}


def test_jpg_is_accepted_as_jpeg_and_unknown_formats_are_refused():
    assert decoded(encode_rendition(factory.solid((10, 10)), "JPG")).format == "JPEG"
    with pytest.raises(ValueError):
        encode_rendition(factory.solid((10, 10)), "gif")


def test_concurrent_encodes_of_one_rendition_give_the_same_bytes_as_one_at_a_time():
    # Given one rendition image, encoded once per format in this thread
    from concurrent.futures import ThreadPoolExecutor

    image = Image.effect_noise((400, 300), 40).convert("RGB")
    expected = {image_format: encode_rendition(image, image_format) for image_format in ("jpeg", "webp")}
    # When its JPEG and WebP are encoded many times at once from threads (as the Watermark step does)
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda image_format: (image_format, encode_rendition(image, image_format)), ["jpeg", "webp"] * 20)
        )
    # Then every encode used its own options (Image.save keeps them on the image object)
    assert all(body == expected[image_format] for image_format, body in results)

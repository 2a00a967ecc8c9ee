"""render_renditions and parse_rendition_specs: sizes, orientation, colour, modes, and the fast JPEG path."""

from __future__ import annotations

from io import BytesIO

import image_factory as factory
import pytest
from image_settings import DEFAULT_RENDITIONS
from imgplat_processing.images.renditions import fit_within, render_renditions
from imgplat_processing.images.validate import ImageRejected
from imgplat_processing.rendition_specs import RenditionSpec, parse_rendition_specs
from PIL import Image, ImageCms, JpegImagePlugin


def rendered_sizes(data: bytes, image_format: str, specs=DEFAULT_RENDITIONS) -> dict[str, tuple[int, int]]:
    return {r.name: r.image.size for r in render_renditions(data, specs, image_format)}


def test_default_renditions_are_thumb_small_medium_large():
    assert [(s.name, s.long_edge) for s in DEFAULT_RENDITIONS] == [
        ("thumb", 150),
        ("small", 320),
        ("medium", 800),
        ("large", 1600),
    ]


def test_rendition_text_parses_into_specs_in_order():
    specs = parse_rendition_specs(" thumb:150, small:320,medium:800,large:1600 ")

    assert specs == DEFAULT_RENDITIONS


@pytest.mark.parametrize(
    "text",
    ["", " ", "thumb", "thumb:", "thumb:abc", "thumb:0", "thumb:-5", "thumb:150,", "a:1,a:2", "bad name:10", ":10"],
)
def test_malformed_rendition_text_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_rendition_specs(text)


def test_large_photo_gets_exact_rendition_sizes_in_spec_order():
    data = factory.jpeg((4000, 3000))

    rendered = render_renditions(data, DEFAULT_RENDITIONS, "JPEG")

    assert [(r.name, r.long_edge, r.image.size) for r in rendered] == [
        ("thumb", 150, (150, 113)),
        ("small", 320, (320, 240)),
        ("medium", 800, (800, 600)),
        ("large", 1600, (1600, 1200)),
    ]
    assert all(r.image.mode == "RGB" for r in rendered)


def test_small_image_is_never_upscaled():
    rendered = render_renditions(factory.png(factory.solid((200, 100))), DEFAULT_RENDITIONS, "PNG")

    assert {r.name: r.image.size for r in rendered} == {
        "thumb": (150, 75),
        "small": (200, 100),
        "medium": (200, 100),
        "large": (200, 100),
    }
    assert len({id(r.image) for r in rendered}) == len(rendered)


def test_portrait_image_fits_its_long_edge():
    assert rendered_sizes(factory.jpeg((300, 1200)), "JPEG", (RenditionSpec("small", 320),)) == {"small": (80, 320)}


@pytest.fixture
def decoded_sizes(monkeypatch) -> list[tuple[int, int]]:
    """The size each JPEG decode was DCT-scaled to (recorded from JpegImageFile.draft)."""
    sizes: list[tuple[int, int]] = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def recording_draft(self, mode, size):
        result = original_draft(self, mode, size)
        sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", recording_draft)
    return sizes


def test_jpeg_is_decoded_dct_scaled_but_never_below_the_largest_rendition(decoded_sizes):
    specs = (RenditionSpec("small", 320), RenditionSpec("large", 1600))
    rendered = render_renditions(factory.jpeg((4000, 3000)), specs, "JPEG")

    assert [r.image.size for r in rendered] == [(320, 240), (1600, 1200)]
    assert decoded_sizes == [(2000, 1500)]  # 1/2 DCT scale: >= 1600 on the long edge (1/4 would give only 1000)


def test_jpeg_draft_goes_down_to_one_eighth_when_the_renditions_are_small(decoded_sizes):
    rendered = render_renditions(factory.jpeg((4000, 3000)), (RenditionSpec("small", 320),), "JPEG")

    assert rendered[0].image.size == (320, 240)
    assert decoded_sizes == [(500, 375)]  # 1/8 DCT scale, still >= 320


def test_exif_rotated_jpeg_comes_out_upright():
    # Stored landscape with a red marker top-left; orientation 6 means "turn 90 degrees clockwise to display".
    stored = factory.with_marker(factory.solid((400, 200), factory.BLUE), factory.RED, "top-left")
    data = factory.jpeg(image=stored, exif=factory.orientation_exif(6))

    rendered = render_renditions(data, (RenditionSpec("medium", 800), RenditionSpec("thumb", 150)), "JPEG")

    medium, thumb = (r.image for r in rendered)
    assert medium.size == (200, 400)
    assert thumb.size == (75, 150)
    for image in (medium, thumb):
        assert factory.close_to(factory.corner_pixel(image, "top-right"), factory.RED, 30)
        assert factory.close_to(factory.corner_pixel(image, "top-left"), factory.BLUE, 30)
        assert factory.close_to(factory.corner_pixel(image, "bottom-right"), factory.BLUE, 30)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_an_orientation_given_only_in_xmp_is_applied(image_format):
    stored = factory.with_marker(factory.solid((400, 200), factory.BLUE), factory.RED, "top-left")
    data = factory.with_xmp_orientation(stored, image_format, 6)

    (medium,) = (r.image for r in render_renditions(data, (RenditionSpec("medium", 800),), image_format))

    assert medium.size == (200, 400)
    assert factory.close_to(factory.corner_pixel(medium, "top-right"), factory.RED, 30)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "TIFF"])
def test_exif_rotated_images_of_other_formats_come_out_upright_and_turned_once(image_format):
    # Pillow's TIFF reader turns the pixels itself; turning them again would lie them on their side.
    stored = factory.with_marker(factory.solid((400, 200), factory.BLUE), factory.RED, "top-left")
    data = factory.encode(stored, image_format, exif=factory.orientation_exif(6))

    (medium,) = (r.image for r in render_renditions(data, (RenditionSpec("medium", 800),), image_format))

    assert medium.size == (200, 400)
    assert factory.close_to(factory.corner_pixel(medium, "top-right"), factory.RED, 30)
    assert factory.close_to(factory.corner_pixel(medium, "bottom-left"), factory.BLUE, 30)


@pytest.mark.parametrize(
    ("orientation", "marker_corner"),
    [(1, "top-left"), (2, "top-right"), (3, "bottom-right"), (4, "bottom-left"), (8, "bottom-left")],
)
def test_every_exif_orientation_puts_the_marker_where_the_camera_saw_it(orientation, marker_corner):
    stored = factory.with_marker(factory.solid((160, 80), factory.BLUE), factory.RED, "top-left")
    data = factory.jpeg(image=stored, exif=factory.orientation_exif(orientation))

    (rendered,) = render_renditions(data, (RenditionSpec("small", 320),), "JPEG")

    assert factory.close_to(factory.corner_pixel(rendered.image, marker_corner), factory.RED, 30)


def test_png_alpha_is_kept_as_rgba():
    (rendered,) = render_renditions(factory.rgba_png((200, 100)), (RenditionSpec("thumb", 150),), "PNG")

    assert rendered.image.mode == "RGBA"
    assert factory.close_to(factory.corner_pixel(rendered.image, "top-left"), (*factory.RED, 255))
    assert factory.corner_pixel(rendered.image, "top-right")[3] == 0


def test_palette_gif_transparency_becomes_an_alpha_channel():
    (rendered,) = render_renditions(factory.palette_gif_with_transparency(), (RenditionSpec("small", 320),), "GIF")

    assert rendered.image.mode == "RGBA"
    assert factory.corner_pixel(rendered.image, "top-left")[3] == 0
    assert factory.close_to(factory.corner_pixel(rendered.image, "top-right"), (*factory.BLUE, 255))


def test_animated_gif_renders_its_first_frame():
    data = factory.animated_gif([factory.RED, factory.GREEN, factory.BLUE])

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "GIF")

    assert rendered.image.size == (60, 40)
    assert factory.close_to(factory.corner_pixel(rendered.image, "top-left"), factory.RED)


def test_cmyk_jpeg_comes_out_as_rgb_with_the_right_colour():
    (rendered,) = render_renditions(factory.cmyk_jpeg(), (RenditionSpec("thumb", 150),), "JPEG")

    assert rendered.image.mode == "RGB"
    assert factory.close_to(factory.corner_pixel(rendered.image, "top-left"), (255, 0, 0), 20)


def test_sixteen_bit_png_keeps_its_brightness():
    data = factory.sixteen_bit_png(value=32896)
    assert Image.open(BytesIO(data)).mode.startswith("I;16")

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "PNG")

    assert rendered.image.mode == "RGB"
    assert factory.close_to(rendered.image.getpixel((10, 10)), (128, 128, 128), 2)


def test_sixteen_bit_white_stays_white():
    (rendered,) = render_renditions(factory.sixteen_bit_png(value=65535), (RenditionSpec("thumb", 150),), "PNG")

    assert rendered.image.getpixel((10, 10)) == (255, 255, 255)


def test_sixteen_bit_grey_png_with_a_transparent_colour_keeps_it_as_alpha():
    picture = Image.new("I;16", (64, 48), 30000)
    picture.paste(Image.new("I;16", (32, 48), 7), (0, 0))  # the left half has the tRNS value
    data = factory.encode(picture, "PNG", transparency=7)

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "PNG")

    assert rendered.image.mode == "RGBA"
    assert rendered.image.getpixel((5, 5))[3] == 0  # type: ignore[index]
    assert factory.close_to(rendered.image.getpixel((60, 5)), (117, 117, 117, 255), 2)  # 30000 / 65535 of white


@pytest.mark.parametrize(("value", "grey"), [(2048, 128), (8192, 128), (32896, 128), (4095, 255)])
def test_sixteen_bit_tiff_is_scaled_from_the_sensor_depth_its_brightest_sample_fits(value, grey):
    # 12-bit (<= 4095) and 14-bit (<= 16383) data in 16-bit samples stay visible; full-range 16-bit is unchanged.
    (rendered,) = render_renditions(factory.sixteen_bit_tiff(value), (RenditionSpec("thumb", 150),), "TIFF")

    assert factory.close_to(rendered.image.getpixel((10, 10)), (grey, grey, grey), 2)


def test_one_bit_image_becomes_black_and_white_rgb():
    (rendered,) = render_renditions(factory.png(Image.new("1", (40, 20), 1)), (RenditionSpec("thumb", 150),), "PNG")

    assert rendered.image.mode == "RGB"
    assert rendered.image.getpixel((5, 5)) == (255, 255, 255)


def test_embedded_icc_profile_is_applied_and_not_carried_over():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = factory.encode(factory.solid((100, 50), factory.GREEN), "PNG", icc_profile=srgb)

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "PNG")

    assert factory.close_to(rendered.image.getpixel((5, 5)), factory.GREEN, 2)
    assert "icc_profile" not in rendered.image.info


@pytest.mark.parametrize(
    ("mode", "colour", "colour_space", "expected"),
    [
        ("RGB", (128, 128, 128), "RGB", (188, 188, 188)),
        ("L", 128, "GRAY", (188, 188, 188)),
        ("LA", (128, 255), "GRAY", (188, 188, 188, 255)),
        ("RGBA", (128, 128, 128, 255), "RGB", (188, 188, 188, 255)),
    ],
)
def test_pixels_tagged_with_a_non_srgb_profile_are_converted_to_srgb(mode, colour, colour_space, expected):
    # Linear-light mid-grey is sRGB 188: an untouched 128 would mean the profile was ignored.
    data = factory.encode(
        Image.new(mode, (100, 50), colour), "PNG", icc_profile=factory.linear_icc_profile(colour_space)
    )

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "PNG")

    assert rendered.image.mode == ("RGBA" if len(expected) == 4 else "RGB")
    assert factory.close_to(rendered.image.getpixel((5, 5)), expected, 2)


def test_jpeg_with_a_non_srgb_profile_is_converted_to_srgb():
    data = factory.encode(factory.solid((100, 50)), "JPEG", quality=95, icc_profile=factory.linear_icc_profile())

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "JPEG")

    assert factory.close_to(rendered.image.getpixel((5, 5)), (188, 188, 188), 3)


def test_profile_that_does_not_fit_the_pixels_is_ignored():
    data = factory.encode(Image.new("L", (100, 50), 128), "PNG", icc_profile=factory.linear_icc_profile("RGB"))

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "PNG")

    assert rendered.image.getpixel((5, 5)) == (128, 128, 128)


def test_cielab_tiff_is_converted_to_srgb():
    data = factory.encode(Image.new("LAB", (100, 50), (128, 128, 128)), "TIFF")

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "TIFF")

    assert rendered.image.mode == "RGB"
    assert factory.close_to(rendered.image.getpixel((5, 5)), (119, 119, 119), 3)  # L* 50 is sRGB 119 grey


def test_broken_icc_profile_does_not_stop_rendering():
    data = factory.encode(factory.solid((100, 50), factory.GREEN), "PNG", icc_profile=b"not a profile")

    (rendered,) = render_renditions(data, (RenditionSpec("thumb", 150),), "PNG")

    assert factory.close_to(rendered.image.getpixel((5, 5)), factory.GREEN, 2)


def test_webp_input_renders():
    data = factory.encode(factory.solid((300, 150), factory.BLUE), "WEBP", quality=90)

    assert rendered_sizes(data, "WEBP", (RenditionSpec("thumb", 150),)) == {"thumb": (150, 75)}


def test_no_specs_means_no_renditions():
    assert render_renditions(factory.jpeg((40, 30)), (), "JPEG") == []


def test_truncated_original_is_rejected_as_truncated_not_crashed():
    with pytest.raises(ImageRejected) as caught:
        render_renditions(factory.truncated_jpeg(), DEFAULT_RENDITIONS, "JPEG")

    assert caught.value.code == "truncated"
    assert caught.value.reason == "The image file is incomplete; please upload it again."


def test_header_without_pixel_data_is_rejected_when_decoded():
    with pytest.raises(ImageRejected) as caught:
        render_renditions(factory.png_header_claiming(300, 200), DEFAULT_RENDITIONS, "PNG")

    assert caught.value.code in {"truncated", "corrupt"}


def test_damaged_pixel_data_is_rejected_as_corrupt():
    data = bytearray(factory.png(factory.solid((200, 100))))
    data[-40:-20] = b"\xff" * 20  # inside the compressed pixel data (IDAT), before IEND

    with pytest.raises(ImageRejected) as caught:
        render_renditions(bytes(data), DEFAULT_RENDITIONS, "PNG")

    assert caught.value.code in {"truncated", "corrupt"}


@pytest.mark.parametrize(
    ("size", "long_edge", "expected"),
    [
        ((4000, 3000), 150, (150, 113)),
        ((3000, 4000), 150, (113, 150)),
        ((10, 1000), 100, (1, 100)),
        ((5, 5), 9, (5, 5)),
    ],
)
def test_fit_within_keeps_the_aspect_ratio_and_never_grows(size, long_edge, expected):
    assert fit_within(size, long_edge) == expected

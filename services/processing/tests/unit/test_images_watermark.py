"""apply_watermark and WatermarkConfig: where the mark lands, which renditions get it, and that inputs stay intact."""

from __future__ import annotations

import image_factory as factory
import pytest
from image_settings import DEFAULT_RENDITIONS, watermark
from imgplat_processing.images.renditions import render_renditions
from imgplat_processing.images.watermark import apply_watermark
from PIL import Image, ImageChops


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    return ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox()


def test_text_watermark_changes_only_the_configured_corner_of_medium_and_thumb_stays_untouched():
    rendered = render_renditions(factory.jpeg((1600, 1200)), DEFAULT_RENDITIONS, "JPEG")
    config = watermark(text="© Jane Doe", position="bottom-right")

    stamped = {r.name: apply_watermark(r.image, config) if config.applies_to(r.name) else r.image for r in rendered}

    medium = next(r.image for r in rendered if r.name == "medium")
    thumb = next(r.image for r in rendered if r.name == "thumb")
    assert medium.size == (800, 600)
    box = changed_box(medium, stamped["medium"])
    assert box is not None
    left, top, right, bottom = box
    margin = round(0.03 * 800)
    assert left >= 400 and top >= 300  # only the bottom-right quarter changed
    assert right <= 800 - margin + 1 and bottom <= 600 - margin + 1
    assert 0.1 * 800 <= right - left <= 0.25 * 800  # about `scale` (20%) of the width
    assert stamped["thumb"] is thumb
    assert changed_box(thumb, stamped["thumb"]) is None


@pytest.mark.parametrize("position", ["top-left", "top-right", "bottom-left", "bottom-right", "center"])
def test_watermark_lands_in_the_configured_position(position):
    image = factory.solid((800, 600))

    box = changed_box(image, apply_watermark(image, watermark(text="Sample", position=position)))

    assert box is not None
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    expected_x = {"left": 0, "right": 800, "center": 400}[position.split("-")[-1]]
    expected_y = {"top": 0, "bottom": 600, "center": 300}[position.split("-")[0]]
    assert abs(centre_x - expected_x) < 200 and abs(centre_y - expected_y) < 150


def test_text_is_visible_on_white_and_on_black():
    for background in (factory.WHITE, (0, 0, 0)):
        image = factory.solid((800, 600), background)

        stamped = apply_watermark(image, watermark(text="Sample", opacity=1.0))

        assert changed_box(image, stamped) is not None


def test_logo_is_scaled_and_blended_by_opacity():
    image = factory.solid((800, 600), factory.WHITE)
    logo = factory.logo_png((100, 50), (255, 0, 0))

    opaque = apply_watermark(image, watermark(text=None, logo=logo, position="top-left", opacity=1.0))
    half = apply_watermark(image, watermark(text=None, logo=logo, position="top-left", opacity=0.5))

    margin = round(0.03 * 800)
    assert changed_box(image, opaque) == (margin, margin, margin + 160, margin + 80)  # 20% of 800 wide, 2:1
    assert opaque.getpixel((margin + 5, margin + 5)) == (255, 0, 0)
    assert factory.close_to(half.getpixel((margin + 5, margin + 5)), (255, 128, 128), 2)


def test_logo_and_text_together_are_stacked():
    image = factory.solid((800, 600))

    both = changed_box(image, apply_watermark(image, watermark(text="Sample", logo=factory.logo_png())))
    logo_only = changed_box(image, apply_watermark(image, watermark(text=None, logo=factory.logo_png())))

    assert both is not None and logo_only is not None
    assert both[3] - both[1] > logo_only[3] - logo_only[1]


def test_watermark_returns_a_new_image_and_keeps_rgba():
    image = Image.new("RGBA", (400, 300), (10, 20, 30, 0))
    before = image.copy()

    stamped = apply_watermark(image, watermark(text="Sample", opacity=1.0))

    assert stamped is not image
    assert stamped.mode == "RGBA"
    assert changed_box(before, image) is None and image.tobytes() == before.tobytes()
    assert stamped.getchannel("A").getextrema()[1] > 0


def test_config_applies_only_to_its_renditions_and_only_with_a_mark():
    assert watermark(text="x").applies_to("medium")
    assert watermark(text="x").applies_to("large")
    assert not watermark(text="x").applies_to("thumb")
    assert not watermark(text=None).applies_to("medium")
    assert not watermark(text="   ").applies_to("medium")
    assert watermark(text=None, logo=factory.logo_png(), renditions=frozenset({"thumb"})).applies_to("thumb")


@pytest.mark.parametrize(
    "settings",
    [{"position": "middle"}, {"opacity": 1.5}, {"opacity": -0.1}, {"margin": 0.5}, {"scale": 0.0}, {"scale": 2.0}],
)
def test_invalid_config_is_a_value_error(settings):
    with pytest.raises(ValueError):
        watermark(text="x", **settings)


def test_unreadable_logo_is_a_value_error():
    with pytest.raises(ValueError):
        apply_watermark(factory.solid((100, 100)), watermark(text=None, logo=b"not a png"))


def test_tiny_image_still_gets_a_mark_that_fits():
    image = factory.solid((40, 30))

    stamped = apply_watermark(image, watermark(text=None, logo=factory.logo_png(), scale=1.0, opacity=1.0))

    box = changed_box(image, stamped)
    assert box is not None and box[2] <= 40 and box[3] <= 30


def test_repeated_stamps_of_one_size_are_identical_whatever_was_stamped_between():
    # The finished mark is cached per size: stamping must never change the cached copy.
    config = watermark(text="© imgplat", logo=factory.logo_png(), opacity=0.6)
    first = apply_watermark(factory.solid((400, 300), factory.BLUE), config)
    apply_watermark(factory.solid((400, 300), factory.RED, mode="RGBA"), config)
    apply_watermark(factory.solid((40, 30), factory.GREEN), config)

    again = apply_watermark(factory.solid((400, 300), factory.BLUE), config)

    assert again.tobytes() == first.tobytes()
    assert again.tobytes() != factory.solid((400, 300), factory.BLUE).tobytes()

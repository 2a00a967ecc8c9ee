"""extract_exif_summary, blurhash_of and dominant_color."""

from __future__ import annotations

import blurhash
import image_factory as factory
import pytest
from imgplat_processing.images.metadata import (
    blurhash_of,
    dominant_color,
    extract_exif_summary,
)
from PIL import ExifTags, Image

EMPTY_SUMMARY = {"camera_make": None, "camera_model": None, "lens": None, "taken_at": None}


def test_camera_facts_are_read_and_gps_is_left_out():
    data = factory.jpeg((80, 60), exif=factory.camera_exif_with_gps())

    summary = extract_exif_summary(data, "JPEG")

    assert summary == {
        "camera_make": "Canon",
        "camera_model": "Canon EOS R5",
        "lens": "RF24-105mm F4 L IS USM",
        "taken_at": "2024-05-06T07:08:09",
    }


def test_gps_directory_is_never_opened(monkeypatch):
    opened: list[int] = []
    original_get_ifd = Image.Exif.get_ifd

    def recording_get_ifd(self, tag):
        opened.append(tag)
        return original_get_ifd(self, tag)

    monkeypatch.setattr(Image.Exif, "get_ifd", recording_get_ifd)

    extract_exif_summary(factory.jpeg((80, 60), exif=factory.camera_exif_with_gps()), "JPEG")

    assert ExifTags.IFD.GPSInfo not in opened


def test_image_without_exif_gives_an_empty_summary():
    assert extract_exif_summary(factory.png(factory.solid((20, 20))), "PNG") == EMPTY_SUMMARY


@pytest.mark.parametrize("raw_exif", [b"Exif\x00\x00garbage-not-tiff", b"Exif\x00\x00II*\x00\xff\xff\xff\x7f", b"xx"])
def test_malformed_exif_gives_an_empty_summary(raw_exif):
    assert extract_exif_summary(factory.jpeg((20, 20), exif=raw_exif), "JPEG") == EMPTY_SUMMARY


def test_blank_capture_time_is_none():
    exif = Image.Exif()
    exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: "0000:00:00 00:00:00"}

    assert extract_exif_summary(factory.jpeg((20, 20), exif=exif), "JPEG")["taken_at"] is None


def test_tiff_exif_tags_are_read_from_its_own_directory():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Nikon"
    data = factory.encode(factory.solid((20, 20)), "TIFF", exif=exif)

    assert extract_exif_summary(data, "TIFF")["camera_make"] == "Nikon"


def test_blurhash_has_four_by_three_components_and_the_image_colour():
    image = factory.solid((800, 600), factory.RED)

    hashed = blurhash_of(image)

    assert len(hashed) == 6 + 2 * (4 * 3 - 1)  # flags, DC, then two characters per AC component
    assert blurhash.components(hashed) == (4, 3)
    pixels = [pixel for row in blurhash.decode(hashed, 16, 16) for pixel in row]
    average = tuple(round(sum(pixel[c] for pixel in pixels) / len(pixels)) for c in range(3))
    assert factory.close_to(average, factory.RED, 6)


def test_blurhash_works_for_transparent_and_palette_images():
    assert len(blurhash_of(Image.new("RGBA", (50, 50), (0, 0, 0, 0)))) == 28
    assert len(blurhash_of(Image.new("P", (50, 50)))) == 28


def test_dominant_colour_is_the_biggest_area():
    image = factory.with_marker(factory.solid((300, 200), factory.BLUE), factory.RED, "top-left")

    colour = dominant_color(image)

    assert colour.startswith("#") and len(colour) == 7
    assert factory.close_to(tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)), factory.BLUE, 4)


def test_control_characters_in_exif_text_are_not_stored():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "\x1b[31mEvil\x07\r\nCorp\x00"
    exif[ExifTags.Base.Model] = "\x01\x02\x03"
    # UTF-8 in an EXIF text field (cameras and editors write it): a right-to-left override and a zero-width space
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.LensModel] = "Lens\u202e\u200b 50mm".encode()
    data = factory.jpeg((40, 30), exif=exif)

    summary = extract_exif_summary(data, "JPEG")

    assert summary["camera_make"] == "[31mEvil Corp"
    assert summary["camera_model"] is None
    assert summary["lens"] == "Lens 50mm"

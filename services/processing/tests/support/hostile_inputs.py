"""A corpus of hostile and awkward uploads, generated in memory (nothing binary is committed).

Each case names what the platform must do with it: REJECTED (with a readable reason) or READY (clean outputs).
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from image_factory import (
    avif,
    camera_exif_with_gps,
    heic,
    heif_claiming,
    png_header_claiming,
    sixteen_bit_tiff,
    tiff_compressed_with,
)
from image_settings import TEST_MAX_UPLOAD_BYTES
from PIL import ExifTags, Image, ImageCms

READY, REJECTED = "READY", "REJECTED"


@dataclass(frozen=True)
class Case:
    name: str
    expected: str
    make: Callable[[], bytes]


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _photo(size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    return image if mode == "RGB" else image.convert(mode)


def _jpeg(**options: object) -> bytes:
    return _save(_photo(), "JPEG", quality=85, **options)


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG with its frame header (SOF) patched to claim width x height."""
    data = bytearray(_jpeg())
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            data[at + 5 : at + 9] = struct.pack(">HH", height, width)
            return bytes(data)
    raise AssertionError("no SOF marker")


def _gif_claiming(width: int, height: int) -> bytes:
    data = bytearray(_save(_photo((8, 8)).convert("P"), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)  # logical screen size
    return bytes(data)


def _frames(fmt: str, count: int, size: tuple[int, int] = (16, 16), **options: object) -> bytes:
    """`count` frames that all differ (encoders merge identical neighbours): a dot walks over the canvas."""
    frames = []
    for i in range(count):
        frame = Image.new("RGB", size, (0, 0, 0))
        frame.putpixel((i % size[0], (i // size[0]) % size[1]), (i % 256, (i // 256) % 256, 255))
        frames.append(frame)
    if fmt == "GIF":
        frames = [frame.convert("P") for frame in frames]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], **options)


def _exif_with(**tags: object) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[getattr(ExifTags.Base, tag)] = value
    return exif


def _ycck_jpeg() -> bytes:
    """A CMYK JPEG whose Adobe marker says YCCK (transform 2), as some print workflows write them."""
    data = bytearray(_save(_photo().convert("CMYK"), "JPEG", quality=85))
    adobe = data.find(b"Adobe")
    if adobe >= 0:
        data[adobe + 11] = 2
    return bytes(data)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.txt", "hello")
    return buffer.getvalue()


def _with_icc(size: int) -> bytes:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _save(_photo(), "JPEG", quality=85, icc_profile=srgb + b"\x00" * size)


def _truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def _noise(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Real entropy, so that cutting an encoded file short removes coded pixels, not padding."""
    return Image.merge("RGB", [Image.effect_noise(size, 64) for _ in range(3)])


@functools.cache
def _heic_grid_of_528_tiles() -> bytes:
    # Over the default limit of 500 coded items; made once (x265 takes seconds for this many tiles).
    return heic(Image.new("RGB", (1536, 1408), (90, 120, 150)), grid_tile=64, enc_params={"preset": "ultrafast"})


def _heif_sequence(encode: Callable[..., bytes], count: int) -> bytes:
    frames = [Image.new("RGB", (64, 64), (index % 256, 40, 90)) for index in range(count)]
    return encode(frames[0], save_all=True, append_images=frames[1:])


def _rotated_photo_exif() -> bytes:
    exif = _exif_with(Orientation=6, Make="Apple", Model="iPhone 15 Pro")
    return exif.tobytes()


def _sixteen_bit_png_with_trns() -> bytes:
    picture = Image.new("I;16", (64, 48), 30000)
    picture.paste(Image.new("I;16", (32, 48), 7), (0, 0))
    return _save(picture, "PNG", transparency=7)


SVG_XXE = b"""<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text>&xxe;</text></svg>"""
SVG_SCRIPT = b"""<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>"""

CORPUS: list[Case] = [
    # empty and truncated
    Case("zero bytes", REJECTED, lambda: b""),
    Case("one byte", REJECTED, lambda: b"\xff"),
    Case("JPEG magic only", REJECTED, lambda: b"\xff\xd8\xff\xe0"),
    Case("truncated JPEG (half)", REJECTED, lambda: _jpeg()[: len(_jpeg()) // 2]),
    Case("truncated progressive JPEG", REJECTED, lambda: _jpeg(progressive=True)[:600]),
    Case("truncated PNG", REJECTED, lambda: _save(_photo(), "PNG")[:300]),
    Case("truncated GIF", REJECTED, lambda: _save(_photo().convert("P"), "GIF")[:40]),
    Case("truncated WebP", REJECTED, lambda: _save(_photo(), "WEBP")[:60]),
    Case(
        "PNG with a broken chunk CRC",
        REJECTED,
        lambda: _save(_photo(), "PNG")[:40] + b"\x00\x00\x00\x00" + _save(_photo(), "PNG")[44:],
    ),
    # decompression bombs and pixel floods
    Case("PNG header claiming 50000x50000", REJECTED, lambda: png_header_claiming(50_000, 50_000)),
    Case("PNG header just over the pixel cap", REJECTED, lambda: png_header_claiming(8_000, 5_001)),
    Case("JPEG header claiming 65000x65000", REJECTED, lambda: _jpeg_claiming(65_000, 65_000)),
    Case("JPEG header just over the pixel cap", REJECTED, lambda: _jpeg_claiming(8_000, 5_001)),
    Case("GIF screen claiming 65535x65535", REJECTED, lambda: _gif_claiming(65_535, 65_535)),
    # frame bombs
    Case("GIF with 3000 frames", REJECTED, lambda: _frames("GIF", 3000)),
    Case("GIF with 101 frames (just over)", REJECTED, lambda: _frames("GIF", 101)),
    Case("animated WebP with 300 frames", REJECTED, lambda: _frames("WEBP", 300)),
    Case("TIFF with 300 pages", REJECTED, lambda: _frames("TIFF", 300)),
    # not images at all
    Case("SVG with an XXE entity", REJECTED, lambda: SVG_XXE),
    Case("SVG with a script", REJECTED, lambda: SVG_SCRIPT),
    Case("HTML renamed .jpg", REJECTED, lambda: b"<!doctype html><html><script>alert(1)</script></html>"),
    Case("PDF renamed .jpg", REJECTED, lambda: b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
    Case("Windows EXE renamed .jpg", REJECTED, lambda: b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00"),
    Case("ZIP renamed .jpg", REJECTED, _zip),
    Case("BMP (not on the allowlist)", REJECTED, lambda: _save(_photo(), "BMP")),
    Case("over the byte cap", REJECTED, lambda: b"\xff\xd8\xff" + b"\x00" * (TEST_MAX_UPLOAD_BYTES)),
    # polyglots and wrong declarations: decoded as the image they are, served only re-encoded
    Case("PNG declared as JPEG", READY, lambda: _save(_photo(), "PNG")),
    Case("JPEG with HTML appended", READY, lambda: _jpeg() + b"<html><script>alert(1)</script></html>"),
    Case("JPEG with a ZIP appended", READY, lambda: _jpeg() + _zip()),
    # colour modes and bit depths
    Case("CMYK JPEG", READY, lambda: _save(_photo().convert("CMYK"), "JPEG", quality=85)),
    Case("YCCK JPEG", READY, _ycck_jpeg),
    Case("grayscale JPEG", READY, lambda: _save(_photo(mode="L"), "JPEG")),
    Case("progressive JPEG", READY, lambda: _jpeg(progressive=True)),
    Case("16-bit grayscale PNG", READY, lambda: _save(_photo(mode="L").convert("I;16"), "PNG")),
    Case("palette PNG with transparency", READY, lambda: _save(_photo().convert("P"), "PNG", transparency=0)),
    Case("LA PNG", READY, lambda: _save(_photo(mode="LA"), "PNG")),
    Case("RGBA PNG", READY, lambda: _save(_photo(mode="RGBA"), "PNG")),
    Case("32-bit integer (I) TIFF", READY, lambda: _save(_photo(mode="L").convert("I"), "TIFF")),
    Case("float (F) TIFF", READY, lambda: _save(_photo(mode="L").convert("F"), "TIFF")),
    Case("1-bit PNG", READY, lambda: _save(_photo(mode="1"), "PNG")),
    # animation: the first frame is processed
    Case("animated GIF (5 frames)", READY, lambda: _frames("GIF", 5, (64, 48))),
    Case("animated WebP (5 frames)", READY, lambda: _frames("WEBP", 5, (64, 48))),
    # metadata abuse
    Case("EXIF with GPS", READY, lambda: _save(_photo(), "JPEG", exif=camera_exif_with_gps())),
    Case(
        "huge EXIF block (60 KB comment)",
        READY,
        lambda: _save(_photo(), "JPEG", exif=_exif_with(ImageDescription="x" * 60_000)),
    ),
    Case("huge ICC profile (60 KB padding)", READY, lambda: _with_icc(60_000)),
    Case("EXIF orientation 0 (invalid)", READY, lambda: _save(_photo(), "JPEG", exif=_exif_with(Orientation=0))),
    Case("EXIF orientation 9 (invalid)", READY, lambda: _save(_photo(), "JPEG", exif=_exif_with(Orientation=9))),
    Case(
        "EXIF orientation 65535 (invalid)", READY, lambda: _save(_photo(), "JPEG", exif=_exif_with(Orientation=65535))
    ),
    Case("EXIF orientation 8", READY, lambda: _save(_photo(), "JPEG", exif=_exif_with(Orientation=8))),
    # shapes
    Case("1x1 pixel", READY, lambda: _save(Image.new("RGB", (1, 1), "red"), "PNG")),
    Case("10000x1 strip", READY, lambda: _save(Image.new("RGB", (10_000, 1), "red"), "PNG")),
    Case("1x10000 strip", READY, lambda: _save(Image.new("RGB", (1, 10_000), "red"), "PNG")),
    # HEIC/HEIF and AVIF: the same caps before any decode, grid tiles and sequence frames included
    Case("HEIC claiming 60000x60000", REJECTED, lambda: heif_claiming(heic(_photo()), 60_000, 60_000)),
    Case("AVIF claiming 60000x60000", REJECTED, lambda: heif_claiming(avif(_photo()), 60_000, 60_000)),
    Case("HEIC grid of 528 tiles", REJECTED, _heic_grid_of_528_tiles),
    Case("HEIC with 101 images (just over)", REJECTED, lambda: _heif_sequence(heic, 101)),
    Case("AVIF sequence of 101 frames", REJECTED, lambda: _heif_sequence(avif, 101)),
    Case("truncated HEIC (half)", REJECTED, lambda: _truncated(heic(_noise()))),
    Case("truncated HEIC (header only)", REJECTED, lambda: heic(_noise())[:200]),
    Case("truncated AVIF (half)", REJECTED, lambda: _truncated(avif(_noise()))),
    Case("HEIC ftyp only", REJECTED, lambda: heic(_photo())[:32]),
    Case("HEIC renamed .jpg", READY, lambda: heic(_photo())),
    Case("HEIC with EXIF orientation 6", READY, lambda: heic(_photo(), exif=_rotated_photo_exif())),
    Case("AVIF with EXIF orientation 6", READY, lambda: avif(_photo(), exif=_rotated_photo_exif())),
    Case("AVIF with an alpha plane", READY, lambda: avif(_photo(mode="RGBA"))),
    Case("HEIC with an alpha plane", READY, lambda: heic(_photo(mode="RGBA"))),
    Case("HEIC grid of 48 tiles (as an iPhone writes)", READY, lambda: heic(_photo((512, 384)), grid_tile=64)),
    Case("AVIF sequence of 5 frames", READY, lambda: _heif_sequence(avif, 5)),
    # found by a sweep of Pillow's own test images
    Case("BigTIFF", READY, lambda: _save(_photo(), "TIFF", big_tiff=True)),
    Case("TIFF with WebP compression", REJECTED, lambda: tiff_compressed_with(50001)),
    Case("16-bit grey PNG with a transparent colour", READY, _sixteen_bit_png_with_trns),
    Case("12-bit data in a 16-bit TIFF", READY, lambda: sixteen_bit_tiff(2048)),
    Case(
        "camera make of control characters",
        READY,
        lambda: _save(_photo(), "JPEG", exif=_exif_with(Make="\x1b\x07\x08")),
    ),
]

"""Test images made in memory, so no binary file is ever committed.

Each helper returns the encoded bytes an upload would carry; sizes stay small so the suite stays fast.
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageDraw, ImageFile, PngImagePlugin

RED = (220, 20, 20)
GREEN = (20, 200, 20)
BLUE = (20, 40, 220)
GREY = (128, 128, 128)
WHITE = (255, 255, 255)


def solid(size: tuple[int, int], color: tuple[int, ...] = GREY, mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, color)


def with_marker(
    image: Image.Image, color: tuple[int, ...], corner: str = "top-left", fraction: float = 0.25
) -> Image.Image:
    """A copy with a solid square of `color` in one corner, a quarter of the short side wide."""
    marked = image.copy()
    side = max(1, int(min(image.size) * fraction))
    x = 0 if corner.endswith("left") else image.width - side
    y = 0 if corner.startswith("top") else image.height - side
    ImageDraw.Draw(marked).rectangle((x, y, x + side - 1, y + side - 1), fill=color)
    return marked


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    out = BytesIO()
    image.save(out, format=image_format, **params)
    return out.getvalue()


def jpeg(
    size: tuple[int, int] = (400, 300),
    color: tuple[int, ...] = GREY,
    *,
    exif: Image.Exif | bytes | None = None,
    image: Image.Image | None = None,
) -> bytes:
    picture = image if image is not None else solid(size, color)
    params: dict[str, object] = {"quality": 90}
    if exif is not None:
        params["exif"] = exif.tobytes() if isinstance(exif, Image.Exif) else exif
    return encode(picture, "JPEG", **params)


def orientation_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return exif


def with_xmp_orientation(image: Image.Image, image_format: str, orientation: int) -> bytes:
    """`image` saved with its orientation in XMP only (no EXIF), as some editors write it."""
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        f'tiff:Orientation="{orientation}"/></rdf:RDF></x:xmpmeta>'
    )
    if image_format == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp)
        return encode(image, "PNG", pnginfo=info)
    return encode(image, image_format, xmp=xmp.encode())


def camera_exif_with_gps() -> Image.Exif:
    """EXIF as a phone writes it: camera, lens, capture time and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS R5"
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.DateTimeOriginal: "2024:05:06 07:08:09",
        ExifTags.Base.LensModel: "RF24-105mm F4 L IS USM",
    }
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 22.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (4.0, 53.0, 40.0),
    }
    return exif


def noisy_jpeg(size: tuple[int, int] = (256, 256)) -> bytes:
    """A JPEG with real entropy, so cutting it short removes actual image data."""
    noise = Image.merge("RGB", [Image.effect_noise(size, 64) for _ in range(3)])
    return jpeg(image=noise)


def truncated_jpeg() -> bytes:
    data = noisy_jpeg()
    return data[: len(data) // 2]


def png(image: Image.Image) -> bytes:
    return encode(image, "PNG")


def rgba_png(size: tuple[int, int] = (200, 100)) -> bytes:
    """Left half opaque red, right half fully transparent."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2 - 1, size[1] - 1), fill=(*RED, 255))
    return png(image)


def sixteen_bit_png(size: tuple[int, int] = (64, 64), value: int = 32896) -> bytes:
    """A 16-bit greyscale PNG (mode I;16); 32896 is mid-grey (128 x 257)."""
    return png(Image.new("I;16", size, value))


def palette_gif_with_transparency(size: tuple[int, int] = (120, 80)) -> bytes:
    """Palette index 0 transparent (left half), index 1 blue (right half)."""
    image = Image.new("P", size, 0)
    image.putpalette([0, 0, 0, *BLUE] + [0, 0, 0] * 254)
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0] - 1, size[1] - 1), fill=1)
    return encode(image, "GIF", transparency=0)


def animated_gif(colors: list[tuple[int, int, int]], size: tuple[int, int] = (60, 40)) -> bytes:
    """One solid frame per colour (distinct colours, so Pillow does not merge frames)."""
    frames = [Image.new("RGB", size, color).convert("P", palette=Image.Palette.ADAPTIVE) for color in colors]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def cmyk_jpeg(size: tuple[int, int] = (120, 80), cmyk: tuple[int, int, int, int] = (0, 255, 255, 0)) -> bytes:
    """A CMYK JPEG (Adobe marker, as Photoshop writes them); the default ink is pure red."""
    return encode(Image.new("CMYK", size, cmyk), "JPEG", quality=95)


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but whose pixel data is a few bytes: decoding it would fail."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def html_document() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def svg_document() -> bytes:
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<rect width="10" height="10" fill="red"/></svg>'
    )


def pdf_document() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def logo_png(size: tuple[int, int] = (100, 50), color: tuple[int, int, int] = RED) -> bytes:
    return png(Image.new("RGBA", size, (*color, 255)))


def corner_pixel(image: Image.Image, corner: str, inset: int = 3) -> tuple[int, ...]:
    """The pixel `inset` pixels in from a corner ("top-left", "bottom-right", ...)."""
    x = inset if corner.endswith("left") else image.width - 1 - inset
    y = inset if corner.startswith("top") else image.height - 1 - inset
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    return pixel


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return len(actual) >= len(expected) and all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def linear_icc_profile(colour_space: str = "RGB") -> bytes:
    """A minimal ICC v2 display profile with sRGB primaries but a linear (gamma 1.0) tone curve.

    Pixels tagged with it are linear light, so a correct conversion to sRGB brightens mid-grey 128 to about 188:
    the observable proof that the profile was applied. `colour_space` is "RGB" or "GRAY".
    """

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + s15(x) + s15(y) + s15(z)

    linear_curve = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, 0x0100) + b"\x00\x00"
    text = b"Linear test profile\x00"
    description = (
        b"desc\x00\x00\x00\x00" + struct.pack(">I", len(text)) + text + b"\x00" * 8 + b"\x00" * 3 + b"\x00" * 67
    )
    tags: list[tuple[bytes, bytes]] = [(b"desc", description), (b"wtpt", xyz(0.9642, 1.0, 0.8249))]
    if colour_space == "RGB":
        tags += [
            (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
            (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
            (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            (b"rTRC", linear_curve),
            (b"gTRC", linear_curve),
            (b"bTRC", linear_curve),
        ]
    else:
        tags.append((b"kTRC", linear_curve))

    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, bodies = b"", b""
    for signature, body in tags:
        padded = body + b"\x00" * (-len(body) % 4)
        entries += signature + struct.pack(">II", offset + len(bodies), len(body))
        bodies += padded
    size = 128 + table_size + len(bodies)
    space = b"RGB " if colour_space == "RGB" else b"GRAY"
    header = (
        struct.pack(">I", size)
        + b"\x00" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntr"
        + space
        + b"XYZ "
        + b"\x00" * 12
        + b"acsp"
        + b"\x00" * 24
        + struct.pack(">I", 0)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\x00" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + entries + bodies


def heic(image: Image.Image, grid_tile: int = 0, **params: object) -> bytes:
    """An HEIC (HEVC-coded HEIF, as phones write them) encoded by pillow-heif; `grid_tile` > 0 makes a tiled grid."""
    import pillow_heif

    pillow_heif.register_heif_opener()  # also lets Pillow save "HEIF"
    previous, pillow_heif.options.GRID_TILE_SIZE = pillow_heif.options.GRID_TILE_SIZE, grid_tile
    try:
        return encode(image, "HEIF", quality=90, **params)
    finally:
        pillow_heif.options.GRID_TILE_SIZE = previous


def avif(image: Image.Image, **params: object) -> bytes:
    """An AVIF encoded by Pillow's own AVIF plugin."""
    return encode(image, "AVIF", quality=90, **params)


def heif_claiming(data: bytes, width: int, height: int) -> bytes:
    """`data` (HEIC or AVIF) with every image size property (`ispe`) patched to claim width x height."""
    patched = bytearray(data)
    at = patched.find(b"ispe")
    assert at >= 0, "no ispe box"
    while at >= 0:
        patched[at + 8 : at + 16] = struct.pack(">II", width, height)  # after the type and version+flags
        at = patched.find(b"ispe", at + 4)
    return bytes(patched)


def tiff_compressed_with(code: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """An uncompressed little-endian TIFF whose compression tag (259) is patched to `code` (50001: WebP)."""
    data = bytearray(encode(solid(size), "TIFF"))
    entry = struct.pack("<HHIHH", 259, 3, 1, 1, 0)  # tag, SHORT, count 1, value 1 (none), padding
    at = data.find(entry)
    assert at >= 0, "no compression tag"
    data[at + 8 : at + 10] = struct.pack("<H", code)
    return bytes(data)


def sixteen_bit_tiff(value: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A 16-bit greyscale TIFF, every sample `value` (2048 is mid-grey for 12-bit sensor data)."""
    return encode(Image.new("I;16", size, value), "TIFF")


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The format of every pixel decode Pillow does from now on (a list that fills as the test runs)."""
    decodes: list[str] = []
    original_load = ImageFile.ImageFile.load

    def counting_load(image: ImageFile.ImageFile) -> Any:
        decodes.append(image.format or "")
        return original_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    return decodes

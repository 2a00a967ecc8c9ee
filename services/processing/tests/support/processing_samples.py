"""Uploads made in memory with Pillow, one per kind of file the workflow must handle (no binary file committed)."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

from PIL import ExifTags, Image, ImageDraw


def _encoded(image: Image.Image, image_format: str, **params: object) -> bytes:
    out = BytesIO()
    image.save(out, format=image_format, **params)
    return out.getvalue()


def _scene(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A picture with some structure (so encoders and blurhash have something to do)."""
    image = Image.new("RGB", size, (40, 90, 160))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((0, 0, width // 3, height // 3), fill=(230, 40, 40))
    draw.ellipse((width // 2, height // 2, width - 1, height - 1), fill=(250, 220, 30))
    return image.convert(mode)


def jpeg_with_exif_orientation(size: tuple[int, int] = (1200, 800), orientation: int = 6) -> bytes:
    """A JPEG stored `size` wide whose EXIF says to turn it (6: 90 degrees clockwise), with camera facts."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Imgplat"
    exif[ExifTags.Base.Model] = "Test Camera"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:06 07:08:09"
    return _encoded(_scene(size), "JPEG", quality=90, exif=exif)


def png_with_alpha(size: tuple[int, int] = (500, 400)) -> bytes:
    image = _scene(size, "RGBA")
    image.putalpha(Image.linear_gradient("L").resize(size))
    return _encoded(image, "PNG")


def palette_gif(size: tuple[int, int] = (300, 200)) -> bytes:
    return _encoded(_scene(size).convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "GIF")


def cmyk_jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    return _encoded(_scene(size, "CMYK"), "JPEG", quality=90)


def sixteen_bit_png(size: tuple[int, int] = (400, 300)) -> bytes:
    gradient = Image.linear_gradient("L").resize(size).convert("I")
    return _encoded(gradient.point(lambda value: value * 257).convert("I;16"), "PNG")


def truncated_jpeg() -> bytes:
    whole = _encoded(_scene((800, 600)), "JPEG", quality=95)
    return whole[: len(whole) // 2]


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def logo_png(size: tuple[int, int] = (120, 60)) -> bytes:
    logo = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(logo).rectangle((5, 5, size[0] - 5, size[1] - 5), fill=(255, 255, 255, 255))
    return _encoded(logo, "PNG")


def heic_photo(size: tuple[int, int] = (1200, 900)) -> bytes:
    """A HEIC as an iPhone writes it: HEVC tiles in a grid (512 px tiles), with camera EXIF."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15 Pro"
    previous, pillow_heif.options.GRID_TILE_SIZE = pillow_heif.options.GRID_TILE_SIZE, 512
    try:
        return _encoded(_scene(size), "HEIF", quality=85, exif=exif.tobytes())
    finally:
        pillow_heif.options.GRID_TILE_SIZE = previous


def avif_with_alpha(size: tuple[int, int] = (500, 400)) -> bytes:
    image = _scene(size, "RGBA")
    image.putalpha(Image.linear_gradient("L").resize(size))
    return _encoded(image, "AVIF", quality=85)

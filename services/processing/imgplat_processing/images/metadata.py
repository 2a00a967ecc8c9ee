"""Describe an image for its record: a few camera facts from EXIF, a blurhash placeholder and a dominant colour.

EXIF is read from the bytes already in the header; the GPS directory is never opened, so a location cannot leak
into a record. Bad EXIF yields empty fields, never an error.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime

import blurhash
from imgplat_common.display_text import displayable
from PIL import ExifTags, Image

from imgplat_processing.images.validate import header_exif, open_original

EXIF_FIELDS = ("camera_make", "camera_model", "lens", "taken_at")
MAX_TEXT_LENGTH = 128
BLURHASH_SIZE = 32  # blurhash is pure Python: it only needs a tiny copy
BLURHASH_COMPONENTS = (4, 3)  # horizontal x vertical
DOMINANT_COLOR_SIZE = 64
DOMINANT_COLOR_PALETTE = 8
BACKGROUND = (255, 255, 255)  # transparent pixels count as white, as they look in the JPEG renditions

_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def extract_exif_summary(data: bytes, image_format: str) -> dict[str, str | None]:
    """camera_make, camera_model, lens and taken_at (ISO 8601, no zone) from the EXIF of `data`; None when absent."""
    summary: dict[str, str | None] = dict.fromkeys(EXIF_FIELDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Pillow notes each corrupt EXIF directory; None says enough
            exif = _read_exif(data, image_format)
            exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
        summary["camera_make"] = _text(exif.get(ExifTags.Base.Make))
        summary["camera_model"] = _text(exif.get(ExifTags.Base.Model))
        summary["lens"] = _text(exif_ifd.get(ExifTags.Base.LensModel))
        summary["taken_at"] = _iso_datetime(_text(exif_ifd.get(ExifTags.Base.DateTimeOriginal)))
    except Exception:  # EXIF in the wild is often malformed: a summary is optional, the upload is not
        return dict.fromkeys(EXIF_FIELDS)
    return summary


def blurhash_of(image: Image.Image) -> str:
    """The blurhash (4 x 3 components) of the image, computed on a copy at most BLURHASH_SIZE pixels across."""
    tiny = _small_rgb(image, BLURHASH_SIZE)
    raw, width = tiny.tobytes(), tiny.width
    rows = [
        [list(raw[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)] for y in range(tiny.height)
    ]
    components_x, components_y = BLURHASH_COMPONENTS
    return str(blurhash.encode(rows, components_x=components_x, components_y=components_y))


def dominant_color(image: Image.Image) -> str:
    """The most common colour of the image after reducing it to a small palette, as "#rrggbb"."""
    tiny = _small_rgb(image, DOMINANT_COLOR_SIZE)
    quantized = tiny.quantize(colors=DOMINANT_COLOR_PALETTE, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    _, most_common = max(quantized.getcolors() or [], key=lambda count_and_index: count_and_index[0], default=(1, 0))
    index = most_common if isinstance(most_common, int) else 0
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def _read_exif(data: bytes, image_format: str) -> Image.Exif:
    """The EXIF found in the file's header, without decoding any pixels."""
    with open_original(data, image_format.upper()) as image:
        return header_exif(image)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="ignore")
    if not isinstance(value, str):
        return None
    # Control characters (escape codes, line breaks) and bidi overrides never belong in a camera name and could
    # mislead whatever displays the record.
    cleaned = displayable(value)
    return cleaned[:MAX_TEXT_LENGTH] if cleaned else None


def _iso_datetime(value: str | None) -> str | None:
    """ "YYYY:MM:DD HH:MM:SS" -> "YYYY-MM-DDTHH:MM:SS"; None for blanks such as "0000:00:00 00:00:00"."""
    if value is None:
        return None
    match = _EXIF_DATETIME.match(value)
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        moment = datetime(year, month, day, hour, minute, second)  # EXIF times carry no zone
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _small_rgb(image: Image.Image, size: int) -> Image.Image:
    """An RGB copy at most `size` pixels across, with transparency flattened on white."""
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    ratio = min(1.0, size / max(image.size))
    small_size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    small = image.resize(small_size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if small.has_transparency_data:
        rgba = small.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, (0, 0), rgba)
        return flat
    return small.convert("RGB")

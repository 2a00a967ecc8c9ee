"""Encode a rendition for serving: JPEG, WebP or AVIF, with no metadata carried over from the original.

Only re-encoded pixels are ever served (a JPEG with HTML appended still decodes, so originals never go out). No
`exif=` or `icc_profile=` is passed to Pillow, so EXIF (and its GPS position) never reaches an output, and the
untagged pixels are sRGB, which is what browsers assume.
"""

from __future__ import annotations

from io import BytesIO

from imgplat_common.models import RENDITION_MIME_TYPES
from PIL import Image

JPEG_QUALITY = 85
WEBP_QUALITY = 80
# WebP method 2 rather than the default 4: much faster for slightly larger files (docs/performance.md).
WEBP_METHOD = 2
# AVIF's quality and encoder speed (libaom, 0 slowest .. 10), chosen with bench/avif.py (docs/performance.md): q65
# matches WebP q80's PSNR; speed 6, Pillow's default, saves a few percent more for about three times the time, and
# speed 9 leaves files barely smaller than WebP's.
AVIF_QUALITY = 65
AVIF_SPEED = 8
# One encoder thread: the encodes of a rendition already run one per CPU (images.pipeline).
AVIF_THREADS = 1
# JPEG has no alpha: transparent areas are shown on white.
JPEG_BACKGROUND = (255, 255, 255)

_ALIASES = {"jpg": "jpeg"}


def encode_rendition(image: Image.Image, image_format: str) -> bytes:
    """The bytes of `image` as "jpeg" (progressive, q85, alpha flattened on white), "webp" (q80, keeps alpha) or
    "avif" (AVIF_QUALITY at AVIF_SPEED, 4:2:0, keeps alpha)."""
    target = _ALIASES.get(image_format.lower(), image_format.lower())
    if target == "jpeg":
        return _encode_jpeg(image)
    if target == "webp":
        return _encode_webp(image)
    if target == "avif":
        return _encode_avif(image)
    raise ValueError(f"cannot encode renditions as {image_format!r}; choose one of {sorted(RENDITION_MIME_TYPES)}")


def _encode_jpeg(image: Image.Image) -> bytes:
    rgb = _flatten(image) if _has_alpha(image) else _own_view(_in_mode(image, "RGB"))
    out = BytesIO()
    rgb.save(out, format="JPEG", quality=JPEG_QUALITY, progressive=True, optimize=False)
    return out.getvalue()


def _encode_webp(image: Image.Image) -> bytes:
    pixels = _own_view(_in_mode(image, "RGBA" if _has_alpha(image) else "RGB"))
    out = BytesIO()
    pixels.save(out, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return out.getvalue()


def _encode_avif(image: Image.Image) -> bytes:
    pixels = _own_view(_in_mode(image, "RGBA" if _has_alpha(image) else "RGB"))
    out = BytesIO()
    pixels.save(out, format="AVIF", quality=AVIF_QUALITY, speed=AVIF_SPEED, max_threads=AVIF_THREADS)
    return out.getvalue()


def _in_mode(image: Image.Image, mode: str) -> Image.Image:
    """`image` itself when it already is in `mode` (encoders only read it), else a converted copy."""
    return image if image.mode == mode else image.convert(mode)


def _own_view(image: Image.Image) -> Image.Image:
    """A new Image object over the same pixels (no copy), for this encode alone.

    Image.save() keeps its options on the Image object (encoderinfo), so two saves of one object running in two
    threads (the JPEG and the WebP of a rendition) could swap quality and method; each encode gets its own object.
    """
    return image._new(image.im)


def _has_alpha(image: Image.Image) -> bool:
    return image.has_transparency_data


def _flatten(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, JPEG_BACKGROUND)
    flat.paste(rgba, (0, 0), rgba)
    return flat

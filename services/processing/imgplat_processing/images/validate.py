"""Decide whether uploaded bytes are an image we accept, from their headers alone.

The checks run cheapest first, and the format comes from the file's own magic bytes, never from a declared type or
file name. No pixel is decoded here: the pixels are decoded once, by the Resize step, which rejects truncated and
damaged files through `rejecting_damaged_pixels` (a second decode only to check them would double the slowest part
of the work, 0.5 s for an 18 MP progressive JPEG). Everything Pillow can raise becomes `ImageRejected`, whose reason
a user can read. A HEIC/HEIF or AVIF file is first held to the limits from its own boxes (heif_header), because its
decoders decode every tile and frame it declares, which the primary image's size does not show.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO

from PIL import ExifTags, Image, ImageFile

from imgplat_processing.images.heif_header import (
    HeifHeader,
    MalformedHeif,
    TooManyImageItems,
    TruncatedHeif,
    ftyp_brands,
    read_heif_header,
)
from imgplat_processing.images.validated_image import ValidatedImage
from imgplat_processing.rejections import ImageRejected

MIME_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
    "AVIF": "image/avif",
}
# What an HEVC-coded HEIF file is called (phones' photos): a second name of the HEIF family beside MIME_TYPES's.
HEIC_MIME_TYPE = "image/heic"
# ftyp brands (ISO base media file format): the AVIF ones, the HEVC-coded HEIF ones (HEIC, what phones write), and
# the generic HEIF ones that a file lists first when its codec brand comes among the compatible ones.
AVIF_BRANDS = frozenset({b"avif", b"avis"})
HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})

# TIFF compressions (tag 259) that the libtiff inside Pillow's wheels decodes. Others (WebP, JPEG 2000, LERC,
# JPEG XL) open fine and fail only in the decode, which would blame a damaged file instead of the compression.
DECODABLE_TIFF_COMPRESSIONS = frozenset(
    {1, 2, 3, 4, 5, 6, 7, 8, 32771, 32773, 32809, 32946, 34676, 34677, 34925, 50000}
)
TIFF_COMPRESSION_NAMES = {34712: "JPEG 2000", 34887: "LERC", 50001: "WebP", 50002: "JPEG XL"}
_TIFF_COMPRESSION_TAG = 259
# How a format is named to users (an iPhone's HEIF photos are known as HEIC).
DISPLAY_NAMES = {"WEBP": "WebP", "HEIF": "HEIC/HEIF"}
# EXIF orientations 5-8 turn the image by 90 degrees, so width and height swap when it is displayed.
SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
# EXIF orientation 1 is "stored upright", 2-8 the mirrorings and turns; any other value is noise.
_UPRIGHT_ORIENTATION = 1
_EXIF_ORIENTATIONS = range(1, 9)


@dataclass(frozen=True)
class ValidationLimits:
    """What an upload may be (the values, and why, are in settings.ImageSettings)."""

    max_bytes: int
    max_pixels: int  # per frame
    max_frames: int
    max_total_pixels: int  # frames x pixels per frame
    max_image_items: int  # coded images in a HEIF/AVIF file: grid tiles, thumbnails, auxiliary images
    allowed_formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "HEIF", "AVIF")


def sniff_format(data: bytes) -> str | None:
    """The Pillow format name the magic bytes announce, or None when they announce none we know."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":  # RIFF, the file size (4 bytes), WEBP
        return "WEBP"
    if data.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):  # classic TIFF, then BigTIFF
        return "TIFF"
    return _heif_format(data)


def _heif_format(data: bytes) -> str | None:
    brands = ftyp_brands(data)
    if brands is None:
        return None
    major, compatible = brands
    if major in AVIF_BRANDS:
        return "AVIF"
    if major in HEIC_BRANDS:
        return "HEIF"
    if major in GENERIC_HEIF_BRANDS:  # the codec's brand decides; an MP4 or a QuickTime movie names none of these
        if AVIF_BRANDS.intersection(compatible):
            return "AVIF"
        if HEIC_BRANDS.intersection(compatible) or major in (b"mif1", b"msf1"):
            return "HEIF"
    return None


def mime_type_of(data: bytes, image_format: str) -> str:
    """The content type of an accepted image: HEIF says image/heic when its brands name HEVC, as phones' files do."""
    if image_format == "HEIF":
        brands = ftyp_brands(data)
        if brands is not None and HEIC_BRANDS.intersection({brands[0], *brands[1]}):
            return HEIC_MIME_TYPE
    return MIME_TYPES.get(image_format, "application/octet-stream")


def fits_declared_type(declared: str, image_format: str) -> bool:
    """Whether a file whose bytes say `image_format` is what the client declared (a canonical type of upload's
    allowed list). HEIF is a family: image/heic and image/heif both fit any HEIF brand the validator accepts, since
    a client that names either cannot know which codec brand the file lists."""
    if image_format == "HEIF":
        return declared in {MIME_TYPES["HEIF"], HEIC_MIME_TYPE}
    return MIME_TYPES.get(image_format) == declared


def validate_image(data: bytes, limits: ValidationLimits) -> ValidatedImage:
    """Accept `data` as an image within `limits`, or raise `ImageRejected`.

    Order: empty, byte size, magic bytes against the allowlist, then the header: dimensions and frame count (the
    caps hold before any pixel is decoded), mode and EXIF orientation.
    """
    if not data:
        raise ImageRejected("empty", "The file is empty.")
    if len(data) > limits.max_bytes:
        raise ImageRejected("too_large", f"The file is larger than the {_megabytes(limits.max_bytes)} limit.")

    image_format = sniff_format(data)
    if image_format is None or image_format not in limits.allowed_formats:
        allowed = ", ".join(display_name(name) for name in limits.allowed_formats)
        raise ImageRejected("unsupported_format", f"This file type is not supported; please upload one of: {allowed}.")

    sequence_frames = 0
    if image_format in ("HEIF", "AVIF"):  # before any decoder parses the file
        sequence_frames = max(_check_heif_items(_heif_header(data, image_format, limits), limits), default=0)
    with warnings.catch_warnings():
        # Pillow only warns about decompression bombs; here every warning of that kind stops the work.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open_header(data, image_format)
        try:
            width, height = image.size
            _check_pixels(width, height, limits)
            frames = max(_count_frames(image), sequence_frames)
            if image_format == "TIFF":
                _check_tiff_compression(image)
            _check_frames(frames, width * height, limits)
            mode = image.mode
            orientation = exif_orientation(image)
        finally:
            image.close()

    if orientation in SWAPPING_ORIENTATIONS:
        width, height = height, width
    return ValidatedImage(
        format=image_format,
        mime_type=mime_type_of(data, image_format),
        width=width,
        height=height,
        frames=frames,
        mode=mode,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def open_original(data: bytes, image_format: str) -> ImageFile.ImageFile:
    """Open `data` (headers only until its pixels are used) with the one decoder of `image_format`."""
    if image_format == "HEIF":
        _register_heif_decoder()
    return Image.open(BytesIO(data), formats=[image_format])


@functools.cache
def _register_heif_decoder() -> None:
    """Load pillow-heif on the first HEIF file only: its libraries cost import time that the other formats skip.

    Thumbnails, depth and auxiliary images are left unread: only the primary image is ever used.
    """
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def _heif_header(data: bytes, image_format: str, limits: ValidationLimits) -> HeifHeader:
    try:
        return read_heif_header(data, limits.max_image_items)
    except TooManyImageItems as exc:
        raise ImageRejected(
            "too_many_parts",
            f"The image is made of more than {limits.max_image_items} pieces (tiles or images); "
            "please upload it as one picture or a smaller one.",
        ) from exc
    except TruncatedHeif as exc:
        raise _truncated() from exc
    except (MalformedHeif, struct.error) as exc:
        raise ImageRejected(
            "not_an_image", f"The file starts like a {display_name(image_format)} image but cannot be read as one."
        ) from exc


def _check_heif_items(header: HeifHeader, limits: ValidationLimits) -> list[int]:
    """Apply the pixel caps to every coded item (a grid's tiles are decoded whole, whatever the grid shows) and
    return the frame count of each image sequence."""
    for pixels in header.coded_item_pixels:
        if pixels > limits.max_pixels:
            raise _too_many_pixels()
    if sum(header.coded_item_pixels) > limits.max_total_pixels:
        raise ImageRejected(
            "too_many_pixels",
            "The image holds too many pixels in total (tiles and images); please upload a smaller one.",
        )
    return header.track_samples


def _open_header(data: bytes, image_format: str) -> ImageFile.ImageFile:
    try:
        return open_original(data, image_format)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, struct.error...) on a bad header
        raise ImageRejected(
            "not_an_image", f"The file starts like a {display_name(image_format)} image but cannot be read as one."
        ) from exc


def _check_pixels(width: int, height: int, limits: ValidationLimits) -> None:
    if width <= 0 or height <= 0:
        raise ImageRejected("not_an_image", "The image has no pixels.")
    if width * height > limits.max_pixels:
        raise _too_many_pixels(width, height, limits.max_pixels)


def _count_frames(image: Image.Image) -> int:
    try:
        return int(getattr(image, "n_frames", 1))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except EOFError as exc:
        raise _truncated() from exc
    except Exception as exc:  # any parse failure while walking the frame headers
        raise _corrupt() from exc


def _check_frames(frames: int, pixels_per_frame: int, limits: ValidationLimits) -> None:
    if frames > limits.max_frames:
        raise ImageRejected(
            "too_many_frames", f"The animation has {frames} frames; at most {limits.max_frames} are allowed."
        )
    if frames * pixels_per_frame > limits.max_total_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"The animation is too large in total ({frames} frames); please upload a shorter or smaller one.",
        )


def _check_tiff_compression(image: Image.Image) -> None:
    tags = getattr(image, "tag_v2", {})
    compression = int(tags.get(_TIFF_COMPRESSION_TAG, 1))
    if compression not in DECODABLE_TIFF_COMPRESSIONS:
        name = TIFF_COMPRESSION_NAMES.get(compression, f"compression type {compression}")
        raise ImageRejected(
            "unsupported_compression",
            f"This TIFF is compressed with {name}, which is not supported; please save it uncompressed or with LZW, "
            "ZIP (Deflate) or JPEG compression.",
        )


@contextmanager
def rejecting_damaged_pixels() -> Iterator[None]:
    """Turn what Pillow raises while decoding pixels into ImageRejected: "truncated" or "corrupt"."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except EOFError as exc:
        raise _truncated() from exc
    except OSError as exc:
        if "truncated" in str(exc).lower():
            raise _truncated() from exc
        raise _corrupt() from exc
    except Exception as exc:  # SyntaxError, ValueError, struct.error... from a broken data stream
        raise _corrupt() from exc


def _truncated() -> ImageRejected:
    return ImageRejected("truncated", "The image file is incomplete; please upload it again.")


def _corrupt() -> ImageRejected:
    return ImageRejected("corrupt", "The image file is damaged and cannot be read.")


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8) still to apply to the decoded pixels; 1 when absent or unreadable.

    Bad EXIF never rejects an image. A TIFF and a HEIF need nothing: their readers (Pillow's TIFF reader, libheif
    through pillow-heif) report the upright size and turn the pixels themselves.
    """
    if image.format in ("TIFF", "HEIF"):
        return _UPRIGHT_ORIENTATION
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Pillow's "Corrupt EXIF data" notes
            value = int(header_exif(image).get(ExifTags.Base.Orientation, _UPRIGHT_ORIENTATION))
    except Exception:  # malformed EXIF is common in the wild and harmless to ignore
        return _UPRIGHT_ORIENTATION
    return value if value in _EXIF_ORIENTATIONS else _UPRIGHT_ORIENTATION


def header_exif(image: Image.Image) -> Image.Exif:
    """The EXIF an opened image carries in its header (an XMP orientation included), without decoding pixels.

    Pillow's generic Image.getexif(), called directly: a PNG's own getexif() decodes the whole image to look for an
    eXIf chunk after the pixel data (where the PNG specification does not put it).
    """
    return Image.Image.getexif(image)


def _too_many_pixels(width: int | None = None, height: int | None = None, limit: int | None = None) -> ImageRejected:
    if width is not None and height is not None and limit is not None:
        reason = f"The image is {width} x {height} pixels; at most {limit / 1_000_000:g} megapixels are allowed."
    else:
        reason = "The image has too many pixels to process."
    return ImageRejected("too_many_pixels", reason)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def display_name(image_format: str) -> str:
    """How a format is named to users (JPEG, WebP, HEIC/HEIF)."""
    return DISPLAY_NAMES.get(image_format, image_format)

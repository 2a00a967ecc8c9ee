"""Render the resized copies (renditions) of a validated original, upright and in sRGB.

Speed comes from doing less work, not from a faster library: a JPEG is decoded DCT-scaled (`draft`) to the smallest
scale that is still at least as large as the largest rendition, each resize does an integer `reduce` before LANCZOS,
colour conversion and EXIF rotation run on the small results, and every rendition is made from the previous, larger
one.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageCms, ImageMath

from imgplat_processing.images.validate import (
    SWAPPING_ORIENTATIONS,
    exif_orientation,
    open_original,
    rejecting_damaged_pixels,
)
from imgplat_processing.rendition_specs import RenditionSpec

# resize() first reduces by an integer factor while the result stays at least this multiple of the target.
REDUCING_GAP = 2.0
# Large resizes run as bands in parallel (one per usable CPU, at most 4); small ones are not worth a thread.
MAX_RESIZE_BANDS = 4
MIN_BANDED_PIXELS = 250_000

# The turn that makes a stored image upright, by EXIF orientation (the same table as ImageOps.exif_transpose).
_UPRIGHT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

SIXTEEN_BIT_PEAK = 65535
# Sample depths that sensors write into 16-bit TIFFs without saying so (see _sixteen_bit_peak).
STORED_SENSOR_BITS = (12, 14)

# Modes that resize() handles directly and that the colour step knows how to turn into RGB or RGBA.
_WORKING_MODES = frozenset({"L", "LA", "RGB", "RGBA", "CMYK"})


@dataclass
class RenderedImage:
    """A rendition ready to encode: `image` is RGB or RGBA in sRGB; `long_edge` is the one the spec asked for."""

    name: str
    long_edge: int
    image: Image.Image


def render_renditions(data: bytes, specs: Sequence[RenditionSpec], image_format: str) -> list[RenderedImage]:
    """Make one upright sRGB image per spec, in the order of `specs`, from a validated original.

    Only the first frame of an animation is used. Nothing is ever upscaled: a spec at least as large as the image
    gets the image at its own size. Raises ImageRejected ("truncated" or "corrupt") when the pixels cannot be decoded.
    """
    if not specs:
        return []
    # The only decode of the original's pixels: truncation and damage (which validation, reading headers only,
    # cannot see) are found here.
    with rejecting_damaged_pixels():
        # Not closed on purpose: the decoded pixels are used below, and a BytesIO holds no file handle.
        source = open_original(data, image_format.upper())
        orientation = exif_orientation(source)
        icc_profile = source.info.get("icc_profile")
        stored_width, stored_height = source.size
        if source.format in ("JPEG", "MPO"):
            _draft_for(source, max(spec.long_edge for spec in specs))
        source.load()
        working = _to_working_mode(source)

    swaps = orientation in SWAPPING_ORIENTATIONS
    display_size = (stored_height, stored_width) if swaps else (stored_width, stored_height)
    results: list[RenderedImage | None] = [None] * len(specs)
    previous: Image.Image | None = None  # the last rendition made, still in stored orientation
    for index in sorted(range(len(specs)), key=lambda i: specs[i].long_edge, reverse=True):
        spec = specs[index]
        width, height = fit_within(display_size, spec.long_edge)
        target = (height, width) if swaps else (width, height)
        if previous is None:
            resized = _resize(working, target)
            previous = _to_srgb(resized, icc_profile)
        else:
            previous = _resize(previous, target)
        previous.info.clear()  # no EXIF, ICC or palette leftovers travel with a rendition
        upright = previous.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else previous
        results[index] = RenderedImage(name=spec.name, long_edge=spec.long_edge, image=upright)
    return [rendered for rendered in results if rendered is not None]


def fit_within(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """The size that keeps the aspect ratio with the longer side at `long_edge`, never larger than `size`."""
    width, height = size
    longest = max(width, height)
    if long_edge >= longest:
        return width, height
    ratio = long_edge / longest
    if width >= height:
        return long_edge, max(1, math.floor(height * ratio + 0.5))
    return max(1, math.floor(width * ratio + 0.5)), long_edge


def _draft_for(image: Image.Image, largest_long_edge: int) -> None:
    """Ask the JPEG decoder for a DCT-scaled decode (1/2, 1/4, 1/8) no smaller than the largest rendition.

    Pillow picks the strongest scale whose result still covers the requested size, so LANCZOS always shrinks (never
    enlarges) to the largest rendition; the DCT scaling itself averages whole blocks, a clean downscale.
    """
    width, height = image.size
    if largest_long_edge >= max(width, height):
        return
    scale = largest_long_edge / max(width, height)
    image.draft(None, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """LANCZOS to `size`; a large result is made as horizontal bands in parallel (Pillow releases the GIL).

    Each band resamples its own box of the source, and the filter reads source pixels beyond the box, so the bands
    join without seams.
    """
    if image.size == size:
        return image.copy()
    most = _resize_bands()
    bands = most if size[0] * size[1] >= MIN_BANDED_PIXELS and size[1] >= 2 * most else 1
    if bands == 1:
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    image.load()
    scale = image.height / size[1]
    edges = [round(size[1] * band / bands) for band in range(bands + 1)]

    def band_of(band: int) -> Image.Image:
        top, bottom = edges[band], edges[band + 1]
        box = (0.0, top * scale, float(image.width), bottom * scale)
        return image.resize((size[0], bottom - top), Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)

    result = Image.new(image.mode, size)
    for band, part in enumerate(_band_pool().map(band_of, range(bands))):
        result.paste(part, (0, edges[band]))
    return result


@functools.cache
def _resize_bands() -> int:
    """Decided on first use, not at import, so that it follows the CPUs this process may use by then."""
    return max(1, min(MAX_RESIZE_BANDS, len(os.sched_getaffinity(0))))


@functools.cache
def _band_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_resize_bands(), thread_name_prefix="resize")


def _to_working_mode(image: Image.Image) -> Image.Image:
    """Bring any decoded mode to L, LA, RGB, RGBA or CMYK, keeping transparency and brightness."""
    mode = image.mode
    if mode in _WORKING_MODES and "transparency" not in image.info:
        return image
    if mode.startswith("I") or mode == "F":
        grey = _to_eight_bit(image)
        transparent = image.info.get("transparency")
        if isinstance(transparent, int) and mode != "F":  # a 16-bit PNG's tRNS: one grey value is see-through
            grey.putalpha(_opaque_unless(image, transparent))
        return grey
    if mode == "LAB":  # CIELab TIFFs: Pillow has no plain LAB -> RGB conversion, LittleCMS does
        return ImageCms.applyTransform(image, _lab_to_srgb()) or image.convert("RGB")
    if image.has_transparency_data:
        return image.convert("LA" if mode in ("L", "1", "LA", "La") else "RGBA")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Scale 16-bit, 32-bit and float greyscale into 0-255, so a mid-grey stays mid-grey."""
    if image.mode.startswith("I;16"):
        wide = image.convert("I")
        peak = _sixteen_bit_peak(wide) if image.format == "TIFF" else float(SIXTEEN_BIT_PEAK)
    else:
        wide = image
        peak = _brightest(wide)
        peak = 1.0 if image.mode == "F" and peak <= 1.0 else max(255.0, peak)
    factor = 255.0 / peak
    return wide.point(lambda value: value * factor).convert("L")


def _sixteen_bit_peak(wide: Image.Image) -> float:
    """The white point of a 16-bit TIFF: the smallest of 12, 14 and 16 bits that holds its brightest pixel.

    Scientific and camera TIFFs often store 12- or 14-bit sensor data in 16-bit samples while declaring 16 bits;
    mapped from 65535 they come out nearly black. The cost: a 16-bit picture that is truly that dark is brightened.
    """
    brightest = _brightest(wide)
    for bits in STORED_SENSOR_BITS:
        if brightest <= 2**bits - 1:
            return float(2**bits - 1)
    return float(SIXTEEN_BIT_PEAK)


def _brightest(image: Image.Image) -> float:
    high = image.getextrema()[1]
    return float(high) if isinstance(high, (int, float)) else 255.0  # one band: a number


def _opaque_unless(image: Image.Image, transparent: int) -> Image.Image:
    """An L mask: 0 where a pixel has the value `transparent`, 255 elsewhere."""
    wide = image.convert("I") if image.mode.startswith("I;16") else image
    mask = ImageMath.lambda_eval(lambda names: (names["pixels"] != transparent) * 255, pixels=wide)
    return mask.convert("L") if isinstance(mask, Image.Image) else Image.new("L", image.size, 255)


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def _lab_to_srgb() -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(ImageCms.createProfile("LAB"), _srgb_profile(), "LAB", "RGB")


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """RGB or RGBA in sRGB, through the embedded ICC profile when there is a usable one (may return `image`)."""
    has_alpha = image.mode in ("LA", "RGBA")
    output_mode = "RGBA" if has_alpha else "RGB"
    if icc_profile:
        converted = _apply_profile(image, icc_profile, output_mode)
        if converted is not None:
            return converted
    return image if image.mode == output_mode else image.convert(output_mode)


def _apply_profile(image: Image.Image, icc_profile: bytes, output_mode: str) -> Image.Image | None:
    try:
        source_profile = ImageCms.ImageCmsProfile(BytesIO(icc_profile))
        if image.mode in ("RGB", "RGBA") and _is_srgb(source_profile):
            return image
        alpha = image.getchannel("A") if image.mode == "LA" else None
        colour = image.convert("L") if alpha is not None else image
        colour_mode = "RGB" if alpha is not None else output_mode
        converted = ImageCms.profileToProfile(
            colour,
            source_profile,
            _srgb_profile(),
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode=colour_mode,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A broken profile, or one that does not fit the pixels (an RGB profile on a grey image): plain conversion.
        return None
    if converted is None:
        return None
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    """Whether a profile says it is sRGB (most camera and phone files): then the transform can be skipped."""
    try:
        return ImageCms.getProfileDescription(profile).strip().startswith("sRGB")
    except ImageCms.PyCMSError:
        return False

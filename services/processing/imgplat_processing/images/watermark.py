"""Stamp a text and/or logo watermark onto a rendition.

Text uses Pillow's bundled scalable font (`ImageFont.load_default(size=...)`), so no font file ships with the code;
it is white with a dark outline, which stays readable on light and dark photos alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageDraw, ImageFont

POSITIONS = frozenset({"top-left", "top-right", "bottom-left", "bottom-right", "center"})
# A logo is configuration, not an upload, but it is decoded on every run: keep it to a sane size.
MAX_LOGO_PIXELS = 4096 * 4096
# The margin is a fraction of the long edge, kept on each side: half of it on both sides leaves no room for the mark.
MAX_MARGIN = 0.5

_REFERENCE_FONT_SIZE = 100
_MIN_FONT_SIZE = 6
_MAX_FONT_SIZE = 512
_OUTLINE_FRACTION = 0.06  # outline width as a fraction of the font size
_GAP_FRACTION = 0.1  # space between a logo and the text under it, as a fraction of the mark's width
_TEXT_FILL = (255, 255, 255, 255)
_TEXT_OUTLINE = (0, 0, 0, 255)


@dataclass(frozen=True)
class WatermarkConfig:
    """What to stamp, where and how strongly; `margin` is a fraction of the long edge, `scale` of the width."""

    text: str | None
    logo: bytes | None  # PNG bytes
    position: str
    opacity: float
    margin: float
    scale: float
    renditions: frozenset[str]  # the names of the renditions that get the mark

    def __post_init__(self) -> None:
        if self.position not in POSITIONS:
            raise ValueError(f"watermark position must be one of {sorted(POSITIONS)}, not {self.position!r}")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError("watermark opacity must be between 0 and 1")
        if not 0.0 <= self.margin < MAX_MARGIN:
            raise ValueError(f"watermark margin must be at least 0 and below {MAX_MARGIN}")
        if not 0.0 < self.scale <= 1.0:
            raise ValueError("watermark scale must be above 0 and at most 1")

    @property
    def has_mark(self) -> bool:
        """True when there is something to stamp (a non-blank text or a logo)."""
        return bool(self.text and self.text.strip()) or bool(self.logo)

    def applies_to(self, rendition_name: str) -> bool:
        """Whether the rendition of this name gets the watermark."""
        return self.has_mark and rendition_name in self.renditions


def apply_watermark(image: Image.Image, config: WatermarkConfig) -> Image.Image:
    """A new image with the watermark stamped on; RGBA input stays RGBA, anything else comes back RGB."""
    result = image.convert("RGBA") if image.mode == "RGBA" else image.convert("RGB")  # always a new image
    if not config.has_mark or config.opacity == 0.0:
        return result

    width, height = result.size
    margin = round(config.margin * max(width, height))
    room = (width - 2 * margin, height - 2 * margin)
    if room[0] < 1 or room[1] < 1:
        return result
    mark = _ready_mark(config, max(1, round(config.scale * width)), room)
    position = _place(config.position, (width, height), mark.size, margin)
    if result.mode == "RGBA":
        result.alpha_composite(mark, dest=position)
    else:
        result.paste(mark, position, mark)
    return result


@functools.lru_cache(maxsize=64)
def _ready_mark(config: WatermarkConfig, mark_width: int, room: tuple[int, int]) -> Image.Image:
    """The mark as stamped: `mark_width` wide, shrunk to fit `room`, faded to the opacity.

    Cached (callers only read it): renditions of one size share their mark, and drawing the text is most of the
    cost of a stamp.
    """
    mark = _build_mark(config, mark_width)
    if mark.width > room[0] or mark.height > room[1]:
        mark.thumbnail(room, Image.Resampling.LANCZOS)
    if config.opacity < 1.0:
        mark.putalpha(mark.getchannel("A").point(lambda alpha: round(alpha * config.opacity)))
    return mark


def _build_mark(config: WatermarkConfig, mark_width: int) -> Image.Image:
    """The watermark as one RGBA image `mark_width` wide: the logo, the text, or the logo above the text."""
    parts: list[Image.Image] = []
    if config.logo:
        parts.append(_scaled_to_width(_decode_logo(config.logo), mark_width))
    if config.text and config.text.strip():
        parts.append(_text_mark(config.text.strip(), mark_width))
    if len(parts) == 1:
        return parts[0]
    gap = round(mark_width * _GAP_FRACTION)
    mark = Image.new("RGBA", (max(p.width for p in parts), sum(p.height for p in parts) + gap), (0, 0, 0, 0))
    top = 0
    for part in parts:
        mark.alpha_composite(part, dest=((mark.width - part.width) // 2, top))
        top += part.height + gap
    return mark


@functools.lru_cache(maxsize=8)
def _decode_logo(logo: bytes) -> Image.Image:
    """The logo as RGBA (cached: the same logo is stamped on several renditions; callers never modify it)."""
    try:
        with Image.open(BytesIO(logo), formats=["PNG"]) as opened:
            if opened.width * opened.height > MAX_LOGO_PIXELS:
                raise ValueError(f"watermark logo must be at most {MAX_LOGO_PIXELS} pixels")
            opened.load()
            return opened.convert("RGBA")
    except ValueError:
        raise
    except Exception as exc:  # Pillow's many error types for a broken file
        raise ValueError("watermark logo is not a readable PNG image") from exc


def _scaled_to_width(image: Image.Image, width: int) -> Image.Image:
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _text_mark(text: str, mark_width: int) -> Image.Image:
    """White text with a dark outline, sized so that it is about `mark_width` wide."""
    reference = _text_layer(text, _REFERENCE_FONT_SIZE)
    size = round(_REFERENCE_FONT_SIZE * mark_width / max(1, reference.width))
    size = min(_MAX_FONT_SIZE, max(_MIN_FONT_SIZE, size))
    layer = _text_layer(text, size)
    if not isinstance(_font(size), ImageFont.FreeTypeFont):
        # Without FreeType the bitmap fallback font has one size only: scale the drawn text instead.
        layer = _scaled_to_width(layer, mark_width)
    return layer


def _text_layer(text: str, size: int) -> Image.Image:
    font = _font(size)
    outline = max(1, round(size * _OUTLINE_FRACTION))
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, stroke_width=outline)
    layer = Image.new("RGBA", (max(1, int(right - left)), max(1, int(bottom - top))), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text(
        (-left, -top), text, font=font, fill=_TEXT_FILL, stroke_width=outline, stroke_fill=_TEXT_OUTLINE
    )
    return layer


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError):
        return ImageFont.load_default()


def _place(position: str, canvas: tuple[int, int], mark: tuple[int, int], margin: int) -> tuple[int, int]:
    (width, height), (mark_width, mark_height) = canvas, mark
    if position == "center":
        return (width - mark_width) // 2, (height - mark_height) // 2
    vertical, horizontal = position.split("-")
    x = margin if horizontal == "left" else width - mark_width - margin
    y = margin if vertical == "top" else height - mark_height - margin
    return x, y

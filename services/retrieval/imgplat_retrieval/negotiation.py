"""Which rendition format a request accepts: an Accept header parser and the choice it drives (format=auto).

The parser follows RFC 9110 section 12.5.1 where it matters here: media ranges are case-insensitive, `q` runs from
0 to 1 with at most three decimals, q=0 means "not acceptable", and the most specific range that matches a type
decides its q (image/avif over image/* over */*). It never raises: a part it cannot read is skipped, as if the
client had not sent it, and a header with no readable part accepts nothing in particular.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A media range's type and subtype are RFC 9110 tokens.
_NAME = r"[!#$%&'*+.^_`|~0-9a-z-]+"
_MEDIA_RANGE = re.compile(rf"({_NAME})/({_NAME})")
_QUALITY = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
# Headers are capped by API Gateway; this bounds the work on a crafted one all the same.
MAX_ACCEPT_PARTS = 64

WILDCARD = "*"


@dataclass(frozen=True)
class MediaRange:
    """One part of an Accept header: `kind`/`subtype` (lower case, either may be "*") and its q-value."""

    kind: str
    subtype: str
    quality: float

    def specificity(self, media_type: str) -> int:
        """How closely this range names `media_type` ("image/avif"): 2 exactly, 1 as image/*, 0 as */*, -1 not."""
        kind, _, subtype = media_type.partition("/")
        if (self.kind, self.subtype) == (kind, subtype):
            return 2
        if self.kind == kind and self.subtype == WILDCARD:
            return 1
        if self.kind == WILDCARD:
            return 0
        return -1


def parse_accept(header: str | None) -> tuple[MediaRange, ...]:
    """The media ranges of an Accept header, in the order sent; unreadable parts are left out."""
    if not header:
        return ()
    ranges = (_parse_part(part) for part in header.split(",", MAX_ACCEPT_PARTS)[:MAX_ACCEPT_PARTS])
    return tuple(media_range for media_range in ranges if media_range is not None)


def _parse_part(part: str) -> MediaRange | None:
    name, *parameters = (piece.strip() for piece in part.split(";"))
    # ASCII only: str.lower() maps a few other letters onto ASCII ones (the Kelvin sign onto "k").
    matched = _MEDIA_RANGE.fullmatch(name.lower()) if name.isascii() else None
    if matched is None:
        return None
    kind, subtype = matched.groups()
    if kind == WILDCARD and subtype != WILDCARD:  # "*/jpeg" is not a media range
        return None
    quality = 1.0
    for parameter in parameters:
        key, separator, value = (piece.strip() for piece in parameter.partition("="))
        if key.lower() != "q":
            continue  # media type parameters and extensions do not change what is accepted here
        if not separator or _QUALITY.fullmatch(value) is None:
            return None  # a part whose weight cannot be read is malformed as a whole
        quality = float(value)
        break  # RFC 9110: the first q is the weight; anything after it is an extension
    return MediaRange(kind, subtype, quality)


def quality_of(ranges: Iterable[MediaRange], media_type: str, *, wildcards: bool = True) -> float:
    """The q a client gives `media_type` (lower case): that of the most specific range naming it, 0 if none does.

    With wildcards=False only a range naming the type itself counts. Two equally specific ranges (a client
    repeating itself) give the higher of their q-values.
    """
    best_specificity, best_quality = -1, 0.0
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity < (0 if wildcards else 2):
            continue
        if specificity > best_specificity:
            best_specificity, best_quality = specificity, media_range.quality
        elif specificity == best_specificity:
            best_quality = max(best_quality, media_range.quality)
    return best_quality


def negotiate_format(
    accept: str | None, available: Iterable[str], media_types: dict[str, str], preference: tuple[str, ...]
) -> str | None:
    """The format of `available` the client prefers: the highest q, ties broken by `preference` (best first).

    Every format but the last of `preference` (the baseline every client decodes) must be named by the client: a
    wildcard alone (curl and most HTTP libraries send */*) says nothing about AVIF or WebP support. None when the
    client accepts none of `available`.
    """
    ranges = parse_accept(accept)
    baseline = preference[-1]
    rank = {image_format: position for position, image_format in enumerate(preference)}
    candidates = [
        (quality_of(ranges, media_types[image_format], wildcards=image_format == baseline), image_format)
        for image_format in available
        if image_format in rank
    ]
    acceptable = [(quality, image_format) for quality, image_format in candidates if quality > 0]
    if not acceptable:
        return None
    return min(acceptable, key=lambda candidate: (-candidate[0], rank[candidate[1]]))[1]

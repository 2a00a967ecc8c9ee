"""Read what a HEIF or AVIF file says it holds, from its boxes alone (ISO base media file format), before any decoder
sees it.

HEIC and AVIF are both HEIF: a `meta` box lists image items (a photo is often a grid of coded tiles, plus thumbnails
and auxiliary images such as depth or gain maps), each with its size in an `ispe` property; an image sequence keeps
its frames as samples of a track in `moov`. The decoders decode every tile a grid names and every sample they are
asked for, so the limits must hold for the coded items and samples, not only for the size the primary image shows.
Pure Python over bytes: every count is bounded by the caller's limits and parsing stops at the first one exceeded.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

BOX_HEADER_BYTES = 8
FOURCC_BYTES = 4
# An ftyp box: size, "ftyp", the major brand, its minor version; the compatible brands follow.
FTYP_FIXED_BYTES = 16
# Item info entries from version 2 on describe image items (16-bit ids in 2, 32-bit from 3).
ITEM_INFO_ENTRY_VERSION = 2
# Items that are not coded pixels: metadata, and images derived from other items (a grid, an identity transform,
# an overlay, a tone map), whose cost is the cost of the items they name.
NON_CODED_ITEM_TYPES = frozenset({b"Exif", b"mime", b"uri ", b"grid", b"iden", b"iovl", b"tmap"})
# How deep boxes nest on the paths read here (moov/trak/mdia/minf/stbl/stsz is the deepest).
MAX_BOX_DEPTH = 8


class MalformedHeif(Exception):
    """The box structure is broken: a size that runs past its parent, a box too short for its fields."""


class TruncatedHeif(MalformedHeif):
    """A box runs past the end of the file: the file was cut short."""


class TooManyImageItems(Exception):
    """More coded image items than the limit allows (counting stops there)."""


@dataclass
class HeifHeader:
    """What the boxes declare: the brands, each coded image item's pixels, and each track's sample count."""

    major_brand: bytes
    compatible_brands: tuple[bytes, ...]
    coded_item_pixels: list[int] = field(default_factory=list)  # one entry per coded item; 0 when it has no `ispe`
    track_samples: list[int] = field(default_factory=list)

    @property
    def brands(self) -> frozenset[bytes]:
        return frozenset({self.major_brand, *self.compatible_brands})


def ftyp_brands(data: bytes) -> tuple[bytes, tuple[bytes, ...]] | None:
    """The major and compatible brands of the `ftyp` box a HEIF/AVIF file starts with; None when it has none."""
    if len(data) < FTYP_FIXED_BYTES or data[4:8] != b"ftyp":
        return None
    size = struct.unpack_from(">I", data)[0]
    end = min(size, len(data)) if size >= FTYP_FIXED_BYTES else FTYP_FIXED_BYTES
    compatible = tuple(
        data[offset : offset + FOURCC_BYTES] for offset in range(FTYP_FIXED_BYTES, end - 3, FOURCC_BYTES)
    )
    return data[8:12], compatible


def read_heif_header(data: bytes, max_coded_items: int) -> HeifHeader:
    """Walk the `ftyp`, `meta` and `moov` boxes of `data`.

    Raises MalformedHeif when the structure is broken, TooManyImageItems as soon as more than `max_coded_items`
    coded image items are declared.
    """
    brands = ftyp_brands(data)
    if brands is None:
        raise MalformedHeif("no ftyp box")
    header = HeifHeader(major_brand=brands[0], compatible_brands=brands[1])
    for box_type, start, end in _boxes(data, 0, len(data)):
        if box_type == b"meta":
            _read_meta(data, start + 4, end, header, max_coded_items)  # meta is a full box: 4 bytes version+flags
        elif box_type == b"moov":
            header.track_samples.extend(_track_samples(data, start, end, depth=1))
    return header


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box between start and end; every step moves forward."""
    offset = start
    while offset + BOX_HEADER_BYTES <= end:
        size, box_type = struct.unpack_from(">I4s", data, offset)
        header_bytes = BOX_HEADER_BYTES
        if size == 1:  # a 64-bit size follows the type
            if offset + 16 > end:
                raise TruncatedHeif("a large box ends early")
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header_bytes = 16
        elif size == 0:  # the box runs to the end of its parent
            size = end - offset
        if offset + size > len(data):
            raise TruncatedHeif(f"box {box_type!r} runs past the end of the file")
        if size < header_bytes or offset + size > end:
            raise MalformedHeif(f"box {box_type!r} runs past its parent")
        yield box_type, offset + header_bytes, offset + size
        offset += size


def _read_meta(data: bytes, start: int, end: int, header: HeifHeader, max_coded_items: int) -> None:
    coded_items: list[int] = []
    properties: list[tuple[bytes, int, int]] = []
    associations: dict[int, list[int]] = {}
    for box_type, box_start, box_end in _boxes(data, start, end):
        if box_type == b"iinf":
            coded_items = _coded_item_ids(data, box_start, box_end, max_coded_items)
        elif box_type == b"iprp":
            for child_type, child_start, child_end in _boxes(data, box_start, box_end):
                if child_type == b"ipco":
                    properties = list(_boxes(data, child_start, child_end))
                elif child_type == b"ipma":
                    associations.update(_associations(data, child_start, child_end))
    for item_id in coded_items:
        header.coded_item_pixels.append(_item_pixels(data, item_id, properties, associations))


def _coded_item_ids(data: bytes, start: int, end: int, max_coded_items: int) -> list[int]:
    version = _unpack(data, ">B", start, end)[0]
    offset = start + 4 + (2 if version == 0 else 4)  # full box header, then the entry count (not trusted)
    coded: list[int] = []
    for box_type, box_start, box_end in _boxes(data, offset, end):
        if box_type != b"infe":
            continue
        infe_version = _unpack(data, ">B", box_start, box_end)[0]
        if infe_version < ITEM_INFO_ENTRY_VERSION:  # versions 0 and 1 describe files, never image items
            continue
        id_format = ">H" if infe_version == ITEM_INFO_ENTRY_VERSION else ">I"
        item_id = _unpack(data, id_format, box_start + 4, box_end)[0]
        type_offset = box_start + 4 + struct.calcsize(id_format) + 2  # after the item id and protection index
        item_type = bytes(data[type_offset : type_offset + FOURCC_BYTES])
        if type_offset + FOURCC_BYTES > box_end:
            raise MalformedHeif("infe box too short")
        if item_type not in NON_CODED_ITEM_TYPES:
            coded.append(item_id)
            if len(coded) > max_coded_items:
                raise TooManyImageItems(str(len(coded)))
    return coded


def _associations(data: bytes, start: int, end: int) -> Iterator[tuple[int, list[int]]]:
    """item id -> 1-based indexes into ipco, from an `ipma` box."""
    version, _, flags_low = _unpack(data, ">BBH", start, end)
    wide_indexes = bool(flags_low & 1)  # flag 1: 15-bit property indexes instead of 7-bit
    offset = start + 4
    (entries,) = _unpack(data, ">I", offset, end)
    offset += 4
    id_format = ">H" if version < 1 else ">I"
    for _ in range(entries):
        (item_id,) = _unpack(data, id_format, offset, end)
        offset += struct.calcsize(id_format)
        (count,) = _unpack(data, ">B", offset, end)
        offset += 1
        indexes = []
        for _ in range(count):
            if wide_indexes:
                indexes.append(_unpack(data, ">H", offset, end)[0] & 0x7FFF)
                offset += 2
            else:
                indexes.append(_unpack(data, ">B", offset, end)[0] & 0x7F)
                offset += 1
        yield item_id, indexes


def _item_pixels(
    data: bytes, item_id: int, properties: list[tuple[bytes, int, int]], associations: dict[int, list[int]]
) -> int:
    for index in associations.get(item_id, []):
        if 1 <= index <= len(properties) and properties[index - 1][0] == b"ispe":
            _, start, end = properties[index - 1]
            width, height = _unpack(data, ">II", start + 4, end)  # after the full box header
            return int(width) * int(height)
    return 0


def _track_samples(data: bytes, start: int, end: int, depth: int) -> Iterator[int]:
    """The sample count of each `stsz` box under moov (one per track: trak/mdia/minf/stbl/stsz)."""
    if depth > MAX_BOX_DEPTH:
        raise MalformedHeif("boxes nested too deep")
    for box_type, box_start, box_end in _boxes(data, start, end):
        if box_type in (b"trak", b"mdia", b"minf", b"stbl"):
            yield from _track_samples(data, box_start, box_end, depth + 1)
        elif box_type == b"stsz":
            yield int(_unpack(data, ">I", box_start + 8, box_end)[0])  # after version+flags and sample_size


def _unpack(data: bytes, layout: str, offset: int, end: int) -> tuple[int, ...]:
    if offset + struct.calcsize(layout) > end:
        raise MalformedHeif("box too short for its fields")
    return struct.unpack_from(layout, data, offset)

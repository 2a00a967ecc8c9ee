"""Where the one-core time goes: ours and the pyvips reference split into the same stages, CPU ms per photo.

    python bench/stages.py [--rounds 2]      # ~1 min (~4 the first time: it prepares the photos); docs/performance.md

One process pinned to one CPU (libvips with VIPS_CONCURRENCY=1), both pipelines on every bench photo, the last round
counted. Each stage is forced into memory before the clock stops (libvips is lazy: `copy_memory`), and timed with
process CPU time, which a busy shared machine disturbs far less than wall time. pyvips' decode and first resize are
one operation (thumbnail_buffer); its decode alone is timed separately so the two can be told apart.
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import processing  # sets the service's settings and sys.path, as the benchmark does
from imgplat_processing.images import renditions
from imgplat_processing.images.encode import JPEG_QUALITY, WEBP_METHOD, WEBP_QUALITY, encode_rendition
from imgplat_processing.images.validate import SWAPPING_ORIENTATIONS, exif_orientation, open_original
from imgplat_processing.images.watermark import apply_watermark
from photos import Photo, ensure_corpus
from PIL import Image

Result = TypeVar("Result")
WHITE = [255, 255, 255]


class StageClock:
    """CPU seconds per stage name, summed over calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = collections.defaultdict(float)

    def time(self, stage: str, work: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
        started = time.process_time()
        result = work(*args, **kwargs)
        self.seconds[stage] += time.process_time() - started
        return result


def _decode(data: bytes, photo: Photo) -> Image.Image:
    source = open_original(data, photo.format)
    if source.format in ("JPEG", "MPO"):
        renditions._draft_for(source, max(spec.long_edge for spec in processing.SPECS))
    source.load()
    return source


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    return image.transpose(renditions._UPRIGHT[orientation]) if orientation in renditions._UPRIGHT else image


def ours(data: bytes, photo: Photo, clock: StageClock) -> None:
    """The steps of images.renditions and images.pipeline, one by one (same functions, same order)."""
    source = clock.time("decode", _decode, data, photo)
    working = clock.time("decode", renditions._to_working_mode, source)
    orientation = exif_orientation(source)
    swaps = orientation in SWAPPING_ORIENTATIONS
    width, height = source.size
    display = (height, width) if swaps else (width, height)
    previous: Image.Image | None = None
    made: dict[str, Image.Image] = {}
    for spec in sorted(processing.SPECS, key=lambda s: -s.long_edge):
        fitted = renditions.fit_within(display, spec.long_edge)
        target = (fitted[1], fitted[0]) if swaps else fitted
        if previous is None:
            resized = clock.time("resize to large", renditions._resize, working, target)
            previous = clock.time("colour, turn", renditions._to_srgb, resized, source.info.get("icc_profile"))
        else:
            previous = clock.time("resize cascade", renditions._resize, previous, target)
        made[spec.name] = clock.time("colour, turn", _upright, previous, orientation)
    for name, image in made.items():
        stamped = image
        if processing.WATERMARK.applies_to(name):
            stamped = clock.time("watermark", apply_watermark, image, processing.WATERMARK)
        for image_format in processing.FORMATS:
            clock.time(f"{image_format} encodes", encode_rendition, stamped, image_format)


def _in_memory(image: Any) -> Any:
    return image.copy_memory()


def _thumbnail_of_bytes(pyvips: Any, data: bytes, long_edge: int) -> Any:
    return pyvips.Image.thumbnail_buffer(data, long_edge, size="down").copy_memory()


def _thumbnail_of_image(image: Any, long_edge: int) -> Any:
    return image.thumbnail_image(long_edge, size="down").copy_memory()


def pyvips_reference(pyvips: Any, stamp: Callable[[Any], Any], data: bytes, clock: StageClock) -> None:
    """bench/processing.py's pyvips job, stage by stage, plus its decode alone."""
    header = pyvips.Image.new_from_buffer(data, "")
    largest = max(spec.long_edge for spec in processing.SPECS)
    shrink = 1
    if header.get("vips-loader").startswith("jpeg"):  # the shrink-on-load thumbnail_buffer picks
        while max(header.width, header.height) // (shrink * 2) >= largest and shrink < 8:
            shrink *= 2
    options = {"shrink": shrink} if shrink > 1 else {}
    clock.time("decode alone (not in total)", _in_memory, pyvips.Image.new_from_buffer(data, "", **options))
    previous = None
    for spec in sorted(processing.SPECS, key=lambda s: -s.long_edge):
        if previous is None:
            image = clock.time("decode + resize to large", _thumbnail_of_bytes, pyvips, data, spec.long_edge)
        else:
            image = clock.time("resize cascade", _thumbnail_of_image, previous, spec.long_edge)
        if image.bands in {1, 2}:
            image = image.colourspace("srgb")
        previous = image
        if processing.WATERMARK.applies_to(spec.name):
            image = clock.time("watermark", lambda unstamped: _in_memory(stamp(unstamped)), image)
        flat = image.flatten(background=WHITE) if image.hasalpha() else image
        clock.time("jpeg encodes", flat.jpegsave_buffer, Q=JPEG_QUALITY, interlace=True, keep="none")
        clock.time("webp encodes", image.webpsave_buffer, Q=WEBP_QUALITY, effort=WEBP_METHOD, keep="none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the corpus; only the last is counted")
    args = parser.parse_args()
    processing.use_cpus(1)  # before pyvips loads: it reads VIPS_CONCURRENCY then
    import pyvips

    pyvips.cache_set_max(0)
    stamp = processing.pyvips_stamper(pyvips)
    photos, _ = ensure_corpus()
    for _round in range(args.rounds):
        clocks = {"ours": StageClock(), "pyvips": StageClock()}
        for photo in photos:
            data = Path(photo.path).read_bytes()
            ours(data, photo, clocks["ours"])
            pyvips_reference(pyvips, stamp, data, clocks["pyvips"])
    print(f"CPU ms per photo on one core, mean over {len(photos)} photos (last of {args.rounds} rounds)")
    totals = {}
    for name, clock in clocks.items():
        counted = {stage: seconds for stage, seconds in clock.seconds.items() if "not in total" not in stage}
        totals[name] = sum(counted.values()) * 1000 / len(photos)
        print(f"\n{name}")
        for stage, seconds in clock.seconds.items():
            print(f"  {stage}: {seconds * 1000 / len(photos):.1f}")
        print(f"  total: {totals[name]:.1f}")
    print(f"\nours/pyvips CPU: {totals['ours'] / totals['pyvips']:.3f}x")


if __name__ == "__main__":
    main()

"""AVIF beside JPEG and WebP (a benchmark): bytes at equal quality and encode time per rendition size, and the
image pipeline's time with AVIF on and off.

    make bench-avif                                    # both parts on one core, then the pipeline on two
    taskset -c 0 python bench/avif.py                  # one core (Lambda's image steps run at 1769 MB = 1 vCPU)
    taskset -c 0,1 python bench/avif.py --pipeline-only

Encodes: the first --photos of the corpus (bench/photos.py), rendered by the service's render_renditions (thumb,
small, medium, large; no watermark, so every encoder gets the same pixels). Each rendition is encoded as JPEG q85,
WebP q80 method 2 (the platform's settings) and AVIF at every --qualities x --speeds; the time is the encoding
thread's CPU time (best of 2), which a shared machine inflates far less than wall time; quality is PSNR against
the same reference as bench/processing.py (full-resolution decode, floating-point LANCZOS: bench/quality.py).
"Equal quality" interpolates an AVIF setting's bytes (across --qualities, at one speed) at the PSNR of the JPEG
and of the WebP of the same renditions.

Pipeline: the job the Resize and Watermark steps do (validate, render, the raw-pixel round trip, watermark_and_encode
with the service's watermark), per photo with AVIF off (JPEG + WebP), with the service's avif_renditions, and with
AVIF for every rendition; the three run interleaved, photo by photo, round 1 discarded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from PIL import Image, features

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "services" / "processing"), str(ROOT / "bench")]

from imgplat_common.models import EVERY_RENDITION_FORMATS  # noqa: E402
from imgplat_processing.images import encode  # noqa: E402
from imgplat_processing.images.pipeline import watermark_and_encode  # noqa: E402
from imgplat_processing.images.renditions import render_renditions  # noqa: E402
from imgplat_processing.images.validate import validate_image  # noqa: E402
from imgplat_processing.settings import ImageSettings  # noqa: E402
from photos import Photo, ensure_corpus  # noqa: E402
from quality import Reference, psnr  # noqa: E402

SETTINGS = ImageSettings(max_upload_bytes=64 * 1024 * 1024)
SPECS = SETTINGS.rendition_specs
WATERMARK = SETTINGS.watermark_config(logo=None)
RESULTS = ROOT / ".cache" / "bench-results"


@dataclass(frozen=True)
class Encoding:
    """One encoder setting: its format, quality and (AVIF) speed, and a label for the tables."""

    label: str
    image_format: str
    options: dict[str, int | bool]


@dataclass
class Measured:
    size: str
    label: str
    bytes: int
    psnr: float
    cpu_ms: float


def encodings(qualities: Sequence[int], speeds: Sequence[int]) -> list[Encoding]:
    platform_jpeg = {"quality": encode.JPEG_QUALITY, "progressive": True, "optimize": False}
    platform_webp = {"quality": encode.WEBP_QUALITY, "method": encode.WEBP_METHOD}
    chosen: list[Encoding] = [
        Encoding(f"jpeg q{encode.JPEG_QUALITY}", "JPEG", platform_jpeg),
        Encoding(f"webp q{encode.WEBP_QUALITY} m{encode.WEBP_METHOD}", "WEBP", platform_webp),
    ]
    for speed in speeds:
        for quality in qualities:
            options = {"quality": quality, "speed": speed, "max_threads": encode.AVIF_THREADS}
            chosen.append(Encoding(f"avif q{quality} s{speed}", "AVIF", options))
    return chosen


def encode_timed(image: Image.Image, encoding: Encoding) -> tuple[bytes, float]:
    """The bytes and the best of two encodes' CPU time (ms) on this thread."""
    best = float("inf")
    body = b""
    for _ in range(2):
        out = BytesIO()
        started = time.thread_time()
        image.save(out, format=encoding.image_format, **encoding.options)
        best = min(best, (time.thread_time() - started) * 1000)
        body = out.getvalue()
    return body, best


def measure_encodes(photos: Sequence[Photo], chosen: Sequence[Encoding]) -> list[Measured]:
    results: list[Measured] = []
    for photo in photos:
        data = Path(photo.path).read_bytes()
        reference = Reference(data, lambda image: image)
        for rendered in render_renditions(data, SPECS, photo.format):
            # JPEG has no alpha: every encoder gets the pixels flattened on white, as the reference shows them.
            pixels = _on_white(rendered.image)
            for encoding in chosen:
                body, cpu_ms = encode_timed(pixels, encoding)
                results.append(Measured(rendered.name, encoding.label, len(body), psnr(body, reference, False), cpu_ms))
        print(f"  encoded {Path(photo.path).name}", file=sys.stderr)
    return results


def _on_white(image: Image.Image) -> Image.Image:
    if not image.has_transparency_data:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, (0, 0), rgba)
    return flat


def bytes_at_psnr(points: Sequence[tuple[float, int]], target: float) -> float | None:
    """Bytes interpolated linearly between the two settings whose PSNR brackets `target` (None outside them)."""
    ordered = sorted(points)
    for (low_psnr, low_bytes), (high_psnr, high_bytes) in itertools.pairwise(ordered):
        if low_psnr <= target <= high_psnr and high_psnr > low_psnr:
            return low_bytes + (high_bytes - low_bytes) * (target - low_psnr) / (high_psnr - low_psnr)
    return None


def encode_tables(results: Sequence[Measured], qualities: Sequence[int], speeds: Sequence[int]) -> str:
    lines: list[str] = []
    sizes = [spec.name for spec in sorted(SPECS, key=lambda spec: spec.long_edge)]
    labels = list(dict.fromkeys(result.label for result in results))
    photos = len(results) // (len(sizes) * len(labels))
    lines.append(f"Per rendition size, {photos} photos: total bytes, mean PSNR, median encode CPU ms per image.\n")
    lines.append("| size | setting | bytes | x JPEG | PSNR dB | encode ms |")
    lines.append("|---|---|---|---|---|---|")
    summary: dict[tuple[str, str], tuple[int, float, float]] = {}
    for size in sizes:
        for label in labels:
            rows = [r for r in results if r.size == size and r.label == label]
            summary[(size, label)] = (
                sum(r.bytes for r in rows),
                statistics.mean(r.psnr for r in rows),
                statistics.median(r.cpu_ms for r in rows),
            )
        jpeg_label = labels[0]
        for label in labels:
            total, mean_psnr, cpu_ms = summary[(size, label)]
            ratio = total / summary[(size, jpeg_label)][0]
            lines.append(f"| {size} | {label} | {total} | {ratio:.2f} | {mean_psnr:.2f} | {cpu_ms:.1f} |")
    lines.append("\nAVIF bytes at the PSNR of the platform's JPEG and WebP (interpolated across qualities):\n")
    lines.append("| size | speed | at JPEG's PSNR: bytes, x JPEG | at WebP's PSNR: bytes, x WebP |")
    lines.append("|---|---|---|---|")
    for size in sizes:
        jpeg_bytes, jpeg_psnr, _ = summary[(size, labels[0])]
        webp_bytes, webp_psnr, _ = summary[(size, labels[1])]
        for speed in speeds:
            points = [summary[(size, f"avif q{q} s{speed}")][1::-1] for q in qualities]
            curve = [(float(p), int(b)) for p, b in points]
            at_jpeg, at_webp = bytes_at_psnr(curve, jpeg_psnr), bytes_at_psnr(curve, webp_psnr)
            cell_jpeg = f"{at_jpeg:.0f}, {at_jpeg / jpeg_bytes:.2f}x" if at_jpeg else "outside the qualities"
            cell_webp = f"{at_webp:.0f}, {at_webp / webp_bytes:.2f}x" if at_webp else "outside the qualities"
            lines.append(f"| {size} | {speed} | {cell_jpeg} | {cell_webp} |")
    return "\n".join(lines)


def pipeline_job(formats_of: Callable[[Sequence[str]], Mapping[str, Sequence[str]]]) -> Callable[[bytes], None]:
    pool = ThreadPoolExecutor(max_workers=2)

    def run(data: bytes) -> None:
        validated = validate_image(data, SETTINGS.validation_limits)
        rendered = render_renditions(data, SPECS, validated.format)
        loaded = {r.name: Image.frombytes(r.image.mode, r.image.size, r.image.tobytes()) for r in rendered}
        watermark_and_encode(loaded, WATERMARK, formats_of(list(loaded)), pool, lambda _n, _f, _i, body: len(body))

    return run


PIPELINES: dict[str, Callable[[Sequence[str]], Mapping[str, Sequence[str]]]] = {
    "avif off": lambda names: dict.fromkeys(names, EVERY_RENDITION_FORMATS),
    f"avif on ({SETTINGS.avif_renditions})": lambda names: SETTINGS.rendition_formats,
    "avif on (every rendition)": lambda names: dict.fromkeys(names, (*EVERY_RENDITION_FORMATS, "avif")),
}


def measure_pipeline(photos: Sequence[Photo], rounds: int) -> str:
    jobs = {name: pipeline_job(formats_of) for name, formats_of in PIPELINES.items()}
    inputs = [Path(photo.path).read_bytes() for photo in photos]
    wall: dict[str, list[float]] = {name: [] for name in jobs}
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    for round_number in range(rounds):
        for index, data in enumerate(inputs):
            names = list(jobs)
            shift = (round_number + index) % len(names)
            for name in names[shift:] + names[:shift]:  # the order rotates, so none always runs first
                started_wall, started_cpu = time.perf_counter(), time.process_time()
                jobs[name](data)
                if round_number > 0:
                    wall[name].append((time.perf_counter() - started_wall) * 1000)
                    cpu[name].append((time.process_time() - started_cpu) * 1000)
    off = "avif off"
    cores = len(os.sched_getaffinity(0))
    lines = [
        f"Pipeline per photo ({len(inputs)} photos x {rounds - 1} rounds), on {cores} core(s):\n",
        "| job | median wall ms | x off | median CPU ms | x off |",
        "|---|---|---|---|---|",
    ]
    for name in jobs:
        median_wall, median_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
        lines.append(
            f"| {name} | {median_wall:.0f} | {median_wall / statistics.median(wall[off]):.2f} "
            f"| {median_cpu:.0f} | {median_cpu / statistics.median(cpu[off]):.2f} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.machine())
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {model}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} "
        f"usable), Python {platform.python_version()}, Pillow {features.version('pil')}, "
        f"libavif {features.version('avif')}"
    )


def _spread_over_the_corpus(count: int) -> list[Photo]:
    """`count` photos spread over the timing set (2-24 MP JPEGs, rotated and RGBA ones too: bench/photos.py)."""
    timing, _worst_case = ensure_corpus()
    spread: list[Photo] = timing[:: max(1, len(timing) // count)][:count]
    return spread


def _photo_of(path: Path) -> Photo:
    with Image.open(path) as image:
        megapixels = image.width * image.height / 1e6
        return Photo(str(path), str(image.format), image.width, image.height, megapixels, False, 1, "given")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=4, help="how many photos of the corpus (default 4)")
    parser.add_argument("--qualities", default="50,60,65,70", help="AVIF qualities (default 50,60,65,70)")
    parser.add_argument("--speeds", default="6,8,9", help="AVIF encoder speeds (default 6,8,9)")
    parser.add_argument("--rounds", type=int, default=3, help="pipeline rounds, the first discarded (default 3)")
    parser.add_argument("--pipeline-only", action="store_true", help="skip the per-encoder measurement")
    parser.add_argument("files", nargs="*", type=Path, help="photos to use instead of the corpus (e.g. your own)")
    args = parser.parse_args()
    qualities = [int(q) for q in args.qualities.split(",")]
    speeds = [int(s) for s in args.speeds.split(",")]
    photos = [_photo_of(path) for path in args.files] if args.files else _spread_over_the_corpus(args.photos)
    report = [f"# bench/avif.py, {machine()}\n"]
    if not args.pipeline_only:
        report.append(encode_tables(measure_encodes(photos, encodings(qualities, speeds)), qualities, speeds))
    report.append(measure_pipeline(photos, args.rounds))
    text = "\n\n".join(report)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    (RESULTS / f"avif-{stamp}-{len(os.sched_getaffinity(0))}cpu.md").write_text(text + "\n")
    run = {**vars(args), "files": [str(path) for path in args.files], "photos": [asdict(p) for p in photos]}
    (RESULTS / f"avif-{stamp}-args.json").write_text(json.dumps(run))


if __name__ == "__main__":
    main()

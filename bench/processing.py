"""The processing pipeline's image work beside two reference implementations of the same job (a benchmark).

    make bench                      # = bench-setup (pyvips into the venv) + python bench/processing.py
    python bench/processing.py [--rounds 4] [--skip-worst-case] [--skip-two-cores]

The headline runs on ONE core, the deployed shape (Resize and Watermark get 1769 MB, one vCPU): each worker process
is pinned to one CPU before it imports anything, and libvips gets VIPS_CONCURRENCY=1 (read when pyvips loads). The
same job on two cores is measured beside it, by a second set of workers, in the same interleaved rounds.

The job, per input: validate, 4 renditions (thumb 150, small 320, medium 800, large 1600 px long edge, upright),
watermark on medium + large, then JPEG q85 and WebP q80 of every rendition (8 outputs). Three implementations:
  ours    the processing service's own functions, composed exactly as the Resize and Watermark steps compose them
          (validate_image, render_renditions, the raw-pixel intermediate round trip, images.pipeline's
          watermark_and_encode); settings are the service's defaults (ImageSettings).
  naive   plain Pillow: full decode, exif_transpose, LANCZOS from full size for each rendition; the same encoder
          settings as ours (the same outputs: only the way to them is naive).
  pyvips  what a careful libvips user writes (pyvips-binary wheel): thumbnail_buffer (shrink-on-load) for the
          largest, then a thumbnail cascade, the mark composited over its own area only (crop, composite, insert),
          the same encoder settings (WebP effort 2).
Every implementation stamps the same watermark pixels (drawn by the service's apply_watermark). Each runs in its own
long-lived worker process; runs are interleaved (image by image, the order rotating) and round 1 is discarded.
Quality: PSNR (dB) of each decoded output against a reference made from a full-resolution decode, resized with
LANCZOS in floating point, watermarked the same way. Peak RSS: every photo in a fresh one-core process per
implementation, the largest peak reported with its photo; the 40 MP worst case (the validator's cap) runs each
Lambda step alone in a fresh process that imported the step's handler module first, as a Lambda container would.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "services" / "processing"), str(ROOT / "bench"), str(ROOT)]

from local.lambda_runtime import environment_from_defaults, handler_module  # noqa: E402
from local.serverless_files import serverless_config  # noqa: E402

# The settings a deployed function reads (serverless.yml's default params); a variable already set wins.
PROCESSING = serverless_config("processing")
for _name, _value in environment_from_defaults(PROCESSING).items():
    os.environ.setdefault(_name, _value)

from imgplat_processing.images.encode import JPEG_QUALITY, WEBP_METHOD, WEBP_QUALITY  # noqa: E402
from imgplat_processing.images.pipeline import watermark_and_encode  # noqa: E402
from imgplat_processing.images.renditions import fit_within, render_renditions  # noqa: E402
from imgplat_processing.images.validate import validate_image  # noqa: E402
from imgplat_processing.images.watermark import apply_watermark  # noqa: E402
from imgplat_processing.settings import ImageSettings  # noqa: E402
from photos import CACHE, Photo, ensure_corpus  # noqa: E402

IMPLEMENTATIONS = ("ours", "naive", "pyvips")
FORMATS = ("jpeg", "webp")
# Upload's cap reaches a deployed function through compose; the bench's photos are all far below this one.
BENCH_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
SETTINGS = ImageSettings(max_upload_bytes=BENCH_MAX_UPLOAD_BYTES)
SPECS = SETTINGS.rendition_specs
LIMITS = SETTINGS.validation_limits
WATERMARK = SETTINGS.watermark_config(logo=None)
WHITE = (255, 255, 255)
RESULTS = ROOT / ".cache" / "bench-results"

Outputs = dict[tuple[str, str], bytes]


# --- the three implementations --------------------------------------------------------------------------------------


def make_ours() -> Callable[[bytes], Outputs]:
    # The Watermark step delivers (uploads) in its own I/O pool; here delivery only hands the bytes back. Importing
    # image_steps for its pool size would load boto3 and Powertools into this process and count them in its RSS.
    pool = ThreadPoolExecutor(max_workers=2)

    def run(data: bytes) -> Outputs:
        validated = validate_image(data, LIMITS)
        rendered = render_renditions(data, SPECS, validated.format)
        # Resize stores raw pixels; Watermark reads them back: the same copies happen here.
        loaded = {r.name: Image.frombytes(r.image.mode, r.image.size, r.image.tobytes()) for r in rendered}
        # The naive and pyvips jobs make no AVIF: compared like for like, ours makes the same 8 outputs.
        formats = dict.fromkeys(loaded, FORMATS)
        return watermark_and_encode(loaded, WATERMARK, formats, pool, lambda _name, _format, _image, body: body)

    return run


def make_naive() -> Callable[[bytes], Outputs]:
    def run(data: bytes) -> Outputs:
        with Image.open(BytesIO(data)) as opened:
            if opened.width * opened.height > LIMITS.max_pixels:
                raise ValueError("too many pixels")
            opened.load()
            upright = ImageOps.exif_transpose(opened)
        source = upright.convert("RGBA" if upright.has_transparency_data else "RGB")
        outputs: Outputs = {}
        for spec in SPECS:
            size = fit_within(source.size, spec.long_edge)
            image = source.resize(size, Image.Resampling.LANCZOS)
            if WATERMARK.applies_to(spec.name):
                image = apply_watermark(image, WATERMARK)
            flat = image
            if image.mode == "RGBA":
                flat = Image.new("RGB", image.size, WHITE)
                flat.paste(image, (0, 0), image)
            jpeg, webp = BytesIO(), BytesIO()
            flat.save(jpeg, "JPEG", quality=JPEG_QUALITY, progressive=True)
            image.save(webp, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
            outputs[(spec.name, "jpeg")], outputs[(spec.name, "webp")] = jpeg.getvalue(), webp.getvalue()
        return outputs

    return run


def pyvips_stamper(pyvips: Any) -> Callable[[Any], Any]:
    """How a careful libvips user stamps the mark: composite over the mark's own area only, then put that area
    back (no full-frame composite); the mark drawn once per rendition size (ours caches it too)."""

    @functools.lru_cache(maxsize=16)
    def mark_for(width: int, height: int) -> tuple[Any, int, int] | None:
        canvas = apply_watermark(Image.new("RGBA", (width, height), (0, 0, 0, 0)), WATERMARK)
        box = canvas.getbbox()
        if box is None:
            return None
        mark = canvas.crop(box)
        overlay = pyvips.Image.new_from_memory(mark.tobytes(), mark.width, mark.height, 4, "uchar")
        return overlay.copy(interpretation="srgb").copy_memory(), box[0], box[1]

    def stamp(image: Any) -> Any:
        placed = mark_for(image.width, image.height)
        if placed is None:
            return image
        overlay, left, top = placed
        area = image.extract_area(left, top, overlay.width, overlay.height)
        stamped = area.composite2(overlay, "over", compositing_space="srgb").cast("uchar")
        if not image.hasalpha():
            stamped = stamped.extract_band(0, n=3)
        return image.insert(stamped, left, top)

    return stamp


def make_pyvips() -> Callable[[bytes], Outputs]:
    import pyvips

    # A deployed function sees each image once; here the same bytes come back every round, which libvips'
    # operation cache could answer without decoding: off.
    pyvips.cache_set_max(0)
    stamp = pyvips_stamper(pyvips)

    def run(data: bytes) -> Outputs:
        header = pyvips.Image.new_from_buffer(data, "")
        if header.width * header.height > LIMITS.max_pixels:
            raise ValueError("too many pixels")
        outputs: Outputs = {}
        previous = None
        for spec in sorted(SPECS, key=lambda s: -s.long_edge):
            if previous is None:
                image = pyvips.Image.thumbnail_buffer(data, spec.long_edge, size="down", fail_on="error")
            else:
                image = previous.thumbnail_image(spec.long_edge, size="down")
            if image.bands in {1, 2}:  # grey, with or without alpha
                image = image.colourspace("srgb")
            image = image.copy_memory()
            previous = image
            if WATERMARK.applies_to(spec.name):
                image = stamp(image)
            flat = image.flatten(background=list(WHITE)) if image.hasalpha() else image
            outputs[(spec.name, "jpeg")] = flat.jpegsave_buffer(Q=JPEG_QUALITY, interlace=True, keep="none")
            outputs[(spec.name, "webp")] = image.webpsave_buffer(Q=WEBP_QUALITY, effort=WEBP_METHOD, keep="none")
        return outputs

    return run


MAKERS: dict[str, Callable[[], Callable[[bytes], Outputs]]] = {
    "ours": make_ours,
    "naive": make_naive,
    "pyvips": make_pyvips,
}


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: unlike ru_maxrss it does not inherit the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def use_cpus(count: int) -> None:
    """Pin this process to `count` CPUs (a Lambda of 1769 MB has one vCPU, 3538 MB two). On one, libvips gets one
    worker thread too: VIPS_CONCURRENCY is read when pyvips loads, so call this before anything imports it."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:count])
    if count == 1:
        os.environ["VIPS_CONCURRENCY"] = "1"


def worker(name: str, cpus: int, paths: list[str], connection: Connection) -> None:
    """A long-lived process for one implementation on `cpus` CPUs: runs the job on the input it is sent, answers
    the wall time and the CPU time (all threads) taken."""
    use_cpus(cpus)
    job = MAKERS[name]()
    inputs = [Path(path).read_bytes() for path in paths]
    while True:
        command, index = connection.recv()
        if command == "stop":
            connection.send(peak_rss_mb())
            return
        started, cpu_started = time.perf_counter(), time.process_time()
        outputs = job(inputs[index])
        elapsed_ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu_started) * 1000
        connection.send((elapsed_ms, cpu_ms, outputs if command == "run+outputs" else None))


# --- the run --------------------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def fresh_process_peak(args: list[str]) -> dict[str, Any]:
    """Runs this script with `args` in a new interpreter; returns the JSON it prints (peak RSS and friends)."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def probe_one(name: str, path: str) -> None:
    """--probe: one job on one file in this fresh process, then the peak RSS."""
    job = MAKERS[name]()
    before = peak_rss_mb()
    job(Path(path).read_bytes())
    print(json.dumps({"before_mb": before, "peak_mb": peak_rss_mb()}))


def probe_step(step: str, path: str) -> None:
    """--step: one Lambda step's image work on one file, after importing its handler module (boto3, Powertools).

    The work runs twice, as a warm container would run it; "first_ms" is the first (cold) run, "ms" the second.
    Resize leaves its intermediates in a pickle beside the results, which the Watermark probe reads, as the steps
    hand raw pixels over through S3: each step's peak is its own.
    """
    import importlib
    import pickle

    importlib.import_module(handler_module(PROCESSING["functions"][step]["handler"]))
    from imgplat_processing.image_steps import IMAGE_WORKERS
    from imgplat_processing.images.metadata import blurhash_of, dominant_color, extract_exif_summary

    RESULTS.mkdir(parents=True, exist_ok=True)  # a fresh clone has none yet: the worst case runs before the report
    handed_over = RESULTS / f"intermediates-{Path(path).stem}.pickle"

    def work() -> None:
        if step == "validate":
            data = Path(path).read_bytes()
            extract_exif_summary(data, validate_image(data, LIMITS).format)
        elif step == "resize":
            data = Path(path).read_bytes()
            rendered = render_renditions(data, SPECS, validate_image(data, LIMITS).format)
            intermediates = {r.name: (r.image.mode, r.image.size, r.image.tobytes()) for r in rendered}
            smallest = min(rendered, key=lambda r: r.long_edge).image
            blurhash_of(smallest), dominant_color(smallest)
            handed_over.write_bytes(pickle.dumps(intermediates))
        else:
            intermediates = pickle.loads(handed_over.read_bytes())  # noqa: S301 - written by the resize probe
            loaded = {name: Image.frombytes(mode, size, pixels) for name, (mode, size, pixels) in intermediates.items()}
            with ThreadPoolExecutor(IMAGE_WORKERS) as pool:
                # The step's own outputs, AVIF included (settings.avif_renditions).
                formats = SETTINGS.rendition_formats
                watermark_and_encode(loaded, WATERMARK, formats, pool, lambda _n, _f, _i, body: len(body))

    before = peak_rss_mb()
    elapsed = []
    for _ in range(2):
        started = time.perf_counter()
        work()
        elapsed.append((time.perf_counter() - started) * 1000)
    if step == "watermark":
        handed_over.unlink()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {"before_mb": before, "peak_mb": peak_rss_mb(), "first_ms": elapsed[0], "ms": elapsed[1]}
    print(json.dumps({**figures, "cpu_s": usage.ru_utime + usage.ru_stime}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4, help="rounds over the corpus, the first one discarded")
    parser.add_argument("--skip-worst-case", action="store_true", help="skip the 40 MP fresh-process measurements")
    parser.add_argument("--skip-two-cores", action="store_true", help="measure the one-core headline only")
    parser.add_argument("--probe", nargs=2, metavar=("IMPLEMENTATION", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--step", nargs=2, metavar=("STEP", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--cpus", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cpus:  # the probes run on as many cores as the Lambda they stand for has
        use_cpus(args.cpus)
    if args.probe:
        return probe_one(*args.probe)
    if args.step:
        return probe_step(*args.step)

    photos, worst_case = ensure_corpus()
    cpu_counts = (1,) if args.skip_two_cores or len(os.sched_getaffinity(0)) < 2 else (1, 2)
    corpus = run_corpus(photos, args.rounds, cpu_counts)
    quality, sizes = measure_quality(photos, corpus.first_outputs)
    peaks = measure_peaks(photos)
    big = max(photos, key=lambda photo: photo.megapixels if photo.format == "JPEG" else 0)
    steps = {} if args.skip_worst_case else measure_worst_case([big, *worst_case])
    report = summarise(photos, corpus, peaks=peaks, quality=quality, sizes=sizes, steps=steps)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "processing.json").write_text(json.dumps(report, indent=1))
    print_report(report)


Contender = tuple[str, int]  # (implementation, CPUs)


@dataclass
class CorpusRun:
    """Per contender (implementation, CPUs), one entry per measured run: wall ms, CPU ms (all threads), and the
    photo's index; per implementation the warm-up round's one-core outputs; per contender the worker's peak RSS."""

    rounds: int
    cpu_counts: tuple[int, ...]
    wall: dict[Contender, list[float]] = field(default_factory=dict)
    cpu: dict[Contender, list[float]] = field(default_factory=dict)
    photo: dict[Contender, list[int]] = field(default_factory=dict)
    first_outputs: dict[str, list[Outputs]] = field(default_factory=lambda: {name: [] for name in IMPLEMENTATIONS})
    peak_rss: dict[Contender, float] = field(default_factory=dict)


def start_workers(
    paths: list[str], contenders: list[Contender]
) -> tuple[dict[Contender, Connection], list[BaseProcess]]:
    """One spawned worker per contender, each with its end of a pipe."""
    context = multiprocessing.get_context("spawn")
    connections: dict[Contender, Connection] = {}
    processes: list[BaseProcess] = []
    for name, cpus in contenders:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=worker, args=(name, cpus, paths, child_end), daemon=True)
        process.start()
        child_end.close()  # so a crashed worker shows up as EOFError here instead of a hang
        connections[(name, cpus)], processes = parent_end, [*processes, process]
    return connections, processes


def run_corpus(photos: list[Photo], rounds: int, cpu_counts: tuple[int, ...]) -> CorpusRun:
    """`rounds` rounds over the corpus; for each photo every contender (each implementation on each CPU count) runs
    once, one at a time, in a rotating order; the first round warms up and keeps the outputs for the quality
    measurement."""
    contenders = [(name, cpus) for cpus in cpu_counts for name in IMPLEMENTATIONS]
    connections, processes = start_workers([photo.path for photo in photos], contenders)
    run = CorpusRun(rounds, cpu_counts)
    for round_number in range(rounds):
        for index in range(len(photos)):
            shift = (round_number + index) % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                keep = round_number == 0 and contender[1] == cpu_counts[0]
                connections[contender].send(("run+outputs" if keep else "run", index))
                elapsed_ms, cpu_ms, outputs = connections[contender].recv()
                if round_number == 0:  # warm-up round: kept for its outputs only
                    if keep:
                        run.first_outputs[contender[0]].append(outputs)
                    continue
                run.wall.setdefault(contender, []).append(elapsed_ms)
                run.cpu.setdefault(contender, []).append(cpu_ms)
                run.photo.setdefault(contender, []).append(index)
        print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)
    for contender in contenders:
        connections[contender].send(("stop", 0))
        run.peak_rss[contender] = connections[contender].recv()
    for process in processes:
        process.join()
    return run


def measure_quality(
    photos: list[Photo], outputs: dict[str, list[Outputs]]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Mean PSNR and mean bytes per (rendition, format) for each implementation, over all inputs."""
    from quality import Reference, psnr  # numpy: only in this process, never in the measured workers

    psnrs: dict[str, dict[str, list[float]]] = {name: {} for name in IMPLEMENTATIONS}
    sizes: dict[str, dict[str, list[int]]] = {name: {} for name in IMPLEMENTATIONS}
    for index, photo in enumerate(photos):
        reference = Reference(Path(photo.path).read_bytes(), lambda image: apply_watermark(image, WATERMARK))
        for name in IMPLEMENTATIONS:
            for (rendition, image_format), body in outputs[name][index].items():
                label = f"{rendition}.{image_format}"
                watermarked = WATERMARK.applies_to(rendition)
                psnrs[name].setdefault(label, []).append(psnr(body, reference, watermarked))
                sizes[name].setdefault(label, []).append(len(body))
    return (
        {name: {label: statistics.fmean(values) for label, values in by.items()} for name, by in psnrs.items()},
        {name: {label: statistics.fmean(values) for label, values in by.items()} for name, by in sizes.items()},
    )


def measure_worst_case(files: list[Photo]) -> dict[str, dict[str, dict[str, float]]]:
    """Peak RSS, wall time and CPU time of each image step on each file, each in a fresh process, on one core and
    on two (Lambda's CPU share at 1769 MB and at 3538 MB): what the memory settings are chosen from."""
    steps: dict[str, dict[str, dict[str, float]]] = {}
    cpus = (1, 2) if len(os.sched_getaffinity(0)) >= 2 else (1,)
    for photo in files:
        for count in cpus:  # each resize probe's intermediates are read (and removed) by the watermark probe after it
            for step in ("validate", "resize", "watermark"):
                figures = fresh_process_peak(["--step", step, photo.path, "--cpus", str(count)])
                steps.setdefault(Path(photo.path).name, {})[f"{step}@{count}"] = figures
    return steps


def measure_peaks(photos: list[Photo]) -> dict[str, dict[str, Any]]:
    """Each implementation's peak RSS on every photo, each in a fresh one-core process: the largest, and which photo
    it was (a progressive JPEG can outgrow a larger baseline one)."""
    peaks: dict[str, dict[str, Any]] = {}
    for name in IMPLEMENTATIONS:
        by_photo = {
            Path(photo.path).name: fresh_process_peak(["--probe", name, photo.path, "--cpus", "1"]) for photo in photos
        }
        worst = max(by_photo, key=lambda photo_name: by_photo[photo_name]["peak_mb"])
        peaks[name] = {"peak_mb": by_photo[worst]["peak_mb"], "photo": worst, "by_photo": by_photo}
    return peaks


def summarise(
    photos: list[Photo],
    corpus: CorpusRun,
    *,
    peaks: dict[str, dict[str, Any]],
    quality: dict[str, dict[str, float]],
    sizes: dict[str, dict[str, float]],
    steps: dict[str, dict[str, dict[str, float]]],
) -> dict[str, Any]:
    def timing(contender: Contender) -> dict[str, float]:
        wall, cpu = corpus.wall[contender], corpus.cpu[contender]
        return {
            "median_ms": statistics.median(wall),
            "p95_ms": percentile(wall, 0.95),
            "mean_ms": statistics.fmean(wall),
            "cpu_median_ms": statistics.median(cpu),
            "cpu_mean_ms": statistics.fmean(cpu),
            "peak_rss_corpus_mb": corpus.peak_rss[contender],
        }

    def per_photo_median(contender: Contender, index: int) -> float:
        wall, photo = corpus.wall[contender], corpus.photo[contender]
        return statistics.median(ms for ms, at in zip(wall, photo, strict=True) if at == index)

    timings = {str(cpus): {name: timing((name, cpus)) for name in IMPLEMENTATIONS} for cpus in corpus.cpu_counts}
    ratios = {
        str(cpus): {
            f"ours/{other}": {
                measure: timings[str(cpus)]["ours"][measure] / timings[str(cpus)][other][measure]
                for measure in ("median_ms", "p95_ms", "mean_ms", "cpu_mean_ms")
            }
            for other in ("naive", "pyvips")
        }
        for cpus in corpus.cpu_counts
    }
    per_photo = {
        str(cpus): {
            Path(photo.path).name: {
                "megapixels": photo.megapixels,
                "ours_ms": per_photo_median(("ours", cpus), index),
                **{
                    f"ours/{other}": per_photo_median(("ours", cpus), index) / per_photo_median((other, cpus), index)
                    for other in ("naive", "pyvips")
                },
            }
            for index, photo in enumerate(photos)
        }
        for cpus in corpus.cpu_counts
    }
    outputs = {
        name: {
            "psnr_db": quality[name],
            "bytes": sizes[name],
            "total_bytes": sum(sizes[name].values()),
            "mean_psnr_db": statistics.fmean(quality[name].values()),
            "peak_rss_mb": peaks[name]["peak_mb"],
            "peak_rss_photo": peaks[name]["photo"],
            "peak_rss_by_photo": {photo: figures["peak_mb"] for photo, figures in peaks[name]["by_photo"].items()},
        }
        for name in IMPLEMENTATIONS
    }
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "system": platform.platform(),
            "cpu_model": _cpu_model(),
        },
        "inputs": {
            "count": len(photos),
            "jpeg": sum(photo.format == "JPEG" for photo in photos),
            "png_alpha": sum(photo.format == "PNG" for photo in photos),
            "progressive": sum(photo.progressive for photo in photos),
            "exif_rotated": sum(photo.orientation != 1 for photo in photos),
            "megapixels": [min(p.megapixels for p in photos), max(p.megapixels for p in photos)],
        },
        "rounds_measured": corpus.rounds - 1,
        "timings": timings,
        "ratios": ratios,
        "per_photo": per_photo,
        "outputs": outputs,
        "worst_case_steps": steps,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def print_report(report: dict[str, Any]) -> None:
    machine, inputs, timings, outputs = report["machine"], report["inputs"], report["timings"], report["outputs"]
    print(f"\nmachine: {machine['cpu_model']}, {machine['cpus']} CPUs, Python {machine['python']}")
    print(
        f"inputs: {inputs['count']} ({inputs['jpeg']} JPEG incl. {inputs['progressive']} progressive and "
        f"{inputs['exif_rotated']} EXIF-rotated, {inputs['png_alpha']} PNG with alpha), "
        f"{inputs['megapixels'][0]}-{inputs['megapixels'][1]} MP; {report['rounds_measured']} measured rounds\n"
    )
    counts = list(timings)
    header = " | ".join(f"median ms, {c} core | p95 ms | mean ms | CPU ms" for c in counts)
    print(f"| implementation | {header} | worst peak RSS MB (photo, 1 core) | bytes (8 outputs) | PSNR dB |")
    print("|---|" + "---|" * (4 * len(counts) + 3))
    for name in IMPLEMENTATIONS:
        cells = " | ".join(
            f"{t['median_ms']:.1f} | {t['p95_ms']:.1f} | {t['mean_ms']:.1f} | {t['cpu_mean_ms']:.1f}"
            for t in (timings[c][name] for c in counts)
        )
        row = outputs[name]
        print(
            f"| {name} | {cells} | {row['peak_rss_mb']:.0f} ({row['peak_rss_photo']}) | {row['total_bytes']:.0f} | "
            f"{row['mean_psnr_db']:.2f} |"
        )
    _print_outputs(outputs)
    _print_per_photo(report["per_photo"])
    print("\nratios (this run; mean = total time over the corpus)")
    for count in counts:
        for pair, ratio in report["ratios"][count].items():
            print(
                f"  {count} core(s) {pair}: median {ratio['median_ms']:.2f}x, p95 {ratio['p95_ms']:.2f}x, "
                f"mean {ratio['mean_ms']:.2f}x, CPU {ratio['cpu_mean_ms']:.2f}x"
            )
    for other in ("naive", "pyvips"):
        print(
            f"  ours/{other} outputs: bytes {outputs['ours']['total_bytes'] / outputs[other]['total_bytes']:.3f}x, "
            f"PSNR {outputs['ours']['mean_psnr_db'] - outputs[other]['mean_psnr_db']:+.2f} dB"
        )
    _print_worst_case(report["worst_case_steps"])
    print(f"\n(JSON: {RESULTS / 'processing.json'}; inputs: {CACHE})")


def _print_outputs(outputs: dict[str, Any]) -> None:
    print("\nmean bytes / PSNR dB per output")
    print("| output | " + " | ".join(IMPLEMENTATIONS) + " |")
    print("|---|" + "---|" * len(IMPLEMENTATIONS))
    for label in outputs["ours"]["bytes"]:
        cells = [f"{outputs[n]['bytes'][label]:.0f} B / {outputs[n]['psnr_db'][label]:.2f}" for n in IMPLEMENTATIONS]
        print(f"| {label} | " + " | ".join(cells) + " |")


def _print_per_photo(per_photo: dict[str, dict[str, dict[str, float]]]) -> None:
    counts = list(per_photo)
    print("\nper photo: ours' median ms and its ratios (median of the measured rounds)")
    print("| photo | MP | " + " | ".join(f"ours ms, {c} core | ours/pyvips | ours/naive" for c in counts) + " |")
    print("|---|---|" + "---|" * (3 * len(counts)))
    for photo, first in per_photo[counts[0]].items():
        cells = " | ".join(
            f"{r['ours_ms']:.0f} | {r['ours/pyvips']:.2f} | {r['ours/naive']:.2f}"
            for r in (per_photo[c][photo] for c in counts)
        )
        print(f"| {photo} | {first['megapixels']} | {cells} |")


def _print_worst_case(steps: dict[str, dict[str, dict[str, float]]]) -> None:
    if not steps:
        return
    print(
        "\nEach Lambda step alone in a fresh process (handler module imported first; warm: the 2nd run), on 1 core"
        " (1769 MB) and on 2 (3538 MB); cost x2 = GB-s at 3538 MB over GB-s at 1769 MB"
    )
    print("| input | step | RSS after imports MB | peak RSS MB | wall ms, 1 core | wall ms, 2 cores | cost x2 |")
    print("|---|---|---|---|---|---|---|")
    for name, by_step in steps.items():
        for step in ("validate", "resize", "watermark"):
            one, two = by_step.get(f"{step}@1"), by_step.get(f"{step}@2")
            if one is None:
                continue
            two_cores = f"{two['ms']:.0f} | {2 * two['ms'] / one['ms']:.2f}" if two else "- | -"
            print(
                f"| {name} | {step} | {one['before_mb']:.0f} | {max(one['peak_mb'], (two or one)['peak_mb']):.0f}"
                f" | {one['ms']:.0f} | {two_cores} |"
            )


if __name__ == "__main__":
    main()

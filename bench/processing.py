"""The processing pipeline's image work beside two reference implementations of the same job (a benchmark).

    make bench                      # = bench-setup (pyvips into the venv) + python bench/processing.py
    python bench/processing.py [--rounds 4] [--skip-worst-case]

The job, per input: validate, 4 renditions (thumb 150, small 320, medium 800, large 1600 px long edge, upright),
watermark on medium + large, then JPEG q85 and WebP q80 of every rendition (8 outputs). Three implementations:
  ours    the processing service's own functions, composed exactly as the Resize and Watermark steps compose them
          (validate_image, render_renditions, the raw-pixel intermediate round trip, images.pipeline's
          watermark_and_encode); settings are the service's defaults (ImageSettings).
  naive   plain Pillow: full decode, exif_transpose, LANCZOS from full size for each rendition, default WebP method.
  pyvips  libvips (pyvips-binary wheel): thumbnail_buffer (shrink-on-load) for the largest, then a thumbnail
          cascade, WebP effort 2 (as ours uses method 2).
Every implementation stamps the same watermark pixels (drawn by the service's apply_watermark). Each runs in its own
long-lived worker process; runs are interleaved (image by image, the order rotating) and round 1 is discarded.
Quality: PSNR (dB) of each decoded output against a reference made from a full-resolution decode, resized with
LANCZOS in floating point, watermarked the same way. Peak RSS of a 24 MP JPEG comes from a fresh process per
implementation; the 40 MP worst case (the validator's cap) runs each Lambda step alone in a fresh process that
imported the step's handler module first, as a Lambda container would.
"""

from __future__ import annotations

import argparse
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
JPEG_QUALITY, WEBP_QUALITY = 85, 80
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
            image.save(webp, "WEBP", quality=WEBP_QUALITY)
            outputs[(spec.name, "jpeg")], outputs[(spec.name, "webp")] = jpeg.getvalue(), webp.getvalue()
        return outputs

    return run


def make_pyvips() -> Callable[[bytes], Outputs]:
    import pyvips

    def stamp(image: Any) -> Any:
        canvas = apply_watermark(Image.new("RGBA", (image.width, image.height), (0, 0, 0, 0)), WATERMARK)
        box = canvas.getbbox()
        if box is None:
            return image
        mark = canvas.crop(box)
        overlay = pyvips.Image.new_from_memory(mark.tobytes(), mark.width, mark.height, 4, "uchar").copy(
            interpretation="srgb"
        )
        stamped = image.composite2(overlay, "over", x=box[0], y=box[1], compositing_space="srgb")
        return stamped if image.hasalpha() else stamped.extract_band(0, n=3)

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
            outputs[(spec.name, "webp")] = image.webpsave_buffer(Q=WEBP_QUALITY, effort=2, keep="none")
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


def worker(name: str, paths: list[str], connection: Connection) -> None:
    """A long-lived process for one implementation: runs the job on the input it is sent, answers the time taken."""
    job = MAKERS[name]()
    inputs = [Path(path).read_bytes() for path in paths]
    while True:
        command, index = connection.recv()
        if command == "stop":
            connection.send(peak_rss_mb())
            return
        started = time.perf_counter()
        outputs = job(inputs[index])
        elapsed_ms = (time.perf_counter() - started) * 1000
        connection.send((elapsed_ms, outputs if command == "run+outputs" else None))


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
    parser.add_argument("--probe", nargs=2, metavar=("IMPLEMENTATION", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--step", nargs=2, metavar=("STEP", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--cpus", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cpus:  # a Lambda of 1769 MB has one vCPU, 3538 MB two: the step probe runs on that many cores
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cpus])
    if args.probe:
        return probe_one(*args.probe)
    if args.step:
        return probe_step(*args.step)

    photos, worst_case = ensure_corpus()
    corpus = run_corpus(photos, args.rounds)
    quality, sizes = measure_quality(photos, corpus.first_outputs)
    big = max(photos, key=lambda photo: photo.megapixels if photo.format == "JPEG" else 0)
    peak_big = {name: fresh_process_peak(["--probe", name, big.path])["peak_mb"] for name in IMPLEMENTATIONS}
    steps = {} if args.skip_worst_case else measure_worst_case([big, *worst_case])
    report = summarise(photos, corpus, big=big, peak_big=peak_big, quality=quality, sizes=sizes, steps=steps)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "processing.json").write_text(json.dumps(report, indent=1))
    print_report(report)


@dataclass
class CorpusRun:
    """Per implementation: each measured run's time (overall and per megapixel), the warm-up round's outputs and
    the worker's peak RSS over the whole corpus."""

    rounds: int
    times: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in IMPLEMENTATIONS})
    per_megapixel: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in IMPLEMENTATIONS})
    first_outputs: dict[str, list[Outputs]] = field(default_factory=lambda: {name: [] for name in IMPLEMENTATIONS})
    peak_rss: dict[str, float] = field(default_factory=dict)


def start_workers(paths: list[str]) -> tuple[dict[str, Connection], list[BaseProcess]]:
    """One spawned worker per implementation, each with its end of a pipe."""
    context = multiprocessing.get_context("spawn")
    connections: dict[str, Connection] = {}
    processes: list[BaseProcess] = []
    for name in IMPLEMENTATIONS:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=worker, args=(name, paths, child_end), daemon=True)
        process.start()
        child_end.close()  # so a crashed worker shows up as EOFError here instead of a hang
        connections[name], processes = parent_end, [*processes, process]
    return connections, processes


def run_corpus(photos: list[Photo], rounds: int) -> CorpusRun:
    """`rounds` rounds over the corpus, the implementations taking turns in a rotating order; the first round
    warms up and keeps the outputs for the quality measurement."""
    connections, processes = start_workers([photo.path for photo in photos])
    run = CorpusRun(rounds)
    for round_number in range(rounds):
        for index, photo in enumerate(photos):
            shift = (round_number + index) % len(IMPLEMENTATIONS)
            for name in IMPLEMENTATIONS[shift:] + IMPLEMENTATIONS[:shift]:
                connections[name].send(("run+outputs" if round_number == 0 else "run", index))
                elapsed_ms, outputs = connections[name].recv()
                if round_number == 0:  # warm-up round: kept for its outputs only
                    run.first_outputs[name].append(outputs)
                    continue
                run.times[name].append(elapsed_ms)
                run.per_megapixel[name].append(elapsed_ms / photo.megapixels)
        print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)
    for name in IMPLEMENTATIONS:
        connections[name].send(("stop", 0))
        run.peak_rss[name] = connections[name].recv()
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


def summarise(
    photos: list[Photo],
    corpus: CorpusRun,
    *,
    big: Photo,
    peak_big: dict[str, float],
    quality: dict[str, dict[str, float]],
    sizes: dict[str, dict[str, float]],
    steps: dict[str, dict[str, dict[str, float]]],
) -> dict[str, Any]:
    times, per_megapixel = corpus.times, corpus.per_megapixel
    rows = {
        name: {
            "median_ms": statistics.median(times[name]),
            "p95_ms": percentile(times[name], 0.95),
            "ms_per_mp": statistics.median(per_megapixel[name]),
            "peak_rss_corpus_mb": corpus.peak_rss[name],
            "peak_rss_24mp_mb": peak_big[name],
            "psnr_db": quality[name],
            "bytes": sizes[name],
            "total_bytes": sum(sizes[name].values()),
            "mean_psnr_db": statistics.fmean(quality[name].values()),
        }
        for name in IMPLEMENTATIONS
    }
    ratios = {
        f"ours/{other}": {
            "median": rows["ours"]["median_ms"] / rows[other]["median_ms"],
            "p95": rows["ours"]["p95_ms"] / rows[other]["p95_ms"],
            "bytes": rows["ours"]["total_bytes"] / rows[other]["total_bytes"],
            "psnr_db_difference": rows["ours"]["mean_psnr_db"] - rows[other]["mean_psnr_db"],
        }
        for other in ("naive", "pyvips")
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
            "rss_input": Path(big.path).name,
        },
        "rounds_measured": corpus.rounds - 1,
        "rows": rows,
        "ratios": ratios,
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
    machine, inputs, rows = report["machine"], report["inputs"], report["rows"]
    print(f"\nmachine: {machine['cpu_model']}, {machine['cpus']} CPUs, Python {machine['python']}")
    print(
        f"inputs: {inputs['count']} ({inputs['jpeg']} JPEG incl. {inputs['progressive']} progressive and "
        f"{inputs['exif_rotated']} EXIF-rotated, {inputs['png_alpha']} PNG with alpha), "
        f"{inputs['megapixels'][0]}-{inputs['megapixels'][1]} MP; {report['rounds_measured']} measured rounds\n"
    )
    print(
        "| implementation | median ms | p95 ms | ms/MP | peak RSS corpus MB | peak RSS 24 MP MB "
        "| bytes (8 outputs) | PSNR dB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        print(
            f"| {name} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} | {row['ms_per_mp']:.2f} | "
            f"{row['peak_rss_corpus_mb']:.0f} | {row['peak_rss_24mp_mb']:.0f} | {row['total_bytes']:.0f} | "
            f"{row['mean_psnr_db']:.2f} |"
        )
    labels = list(rows["ours"]["bytes"])
    print("\nmean bytes / PSNR dB per output")
    print("| output | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for label in labels:
        cells = [f"{rows[n]['bytes'][label]:.0f} B / {rows[n]['psnr_db'][label]:.2f}" for n in rows]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nratios (this run)")
    for pair, ratio in report["ratios"].items():
        print(
            f"  {pair}: median {ratio['median']:.2f}x, p95 {ratio['p95']:.2f}x, bytes {ratio['bytes']:.3f}x, "
            f"PSNR {ratio['psnr_db_difference']:+.2f} dB"
        )
    if report["worst_case_steps"]:
        print(
            "\nEach Lambda step alone in a fresh process (handler module imported first; warm: the 2nd run), on 1 core"
            " (1769 MB) and on 2 (3538 MB); cost x2 = GB-s at 3538 MB over GB-s at 1769 MB"
        )
        print("| input | step | RSS after imports MB | peak RSS MB | wall ms, 1 core | wall ms, 2 cores | cost x2 |")
        print("|---|---|---|---|---|---|---|")
        for name, by_step in report["worst_case_steps"].items():
            for step in ("validate", "resize", "watermark"):
                one, two = by_step.get(f"{step}@1"), by_step.get(f"{step}@2")
                if one is None:
                    continue
                two_cores = f"{two['ms']:.0f} | {2 * two['ms'] / one['ms']:.2f}" if two else "- | -"
                print(
                    f"| {name} | {step} | {one['before_mb']:.0f} | {max(one['peak_mb'], (two or one)['peak_mb']):.0f}"
                    f" | {one['ms']:.0f} | {two_cores} |"
                )
    print(f"\n(JSON: {RESULTS / 'processing.json'}; inputs: {CACHE})")


if __name__ == "__main__":
    main()

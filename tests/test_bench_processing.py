"""What bench/processing.py's headline stands on: the one-core contenders really run on one core (libvips with one
thread), the report puts the one-core figures first with the two-core ones beside them and names the photo with the
largest peak RSS, and the pyvips reference stamps the mark over its own area only (same pixels as a full-frame
composite). Each check runs in a fresh interpreter: importing the benchmark sets the processing service's settings
in the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_in_bench(code: str) -> str:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")])}
    environment.pop("VIPS_CONCURRENCY", None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=environment
    )
    return done.stdout


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to show the pinning")
def test_one_core_contender_runs_on_one_cpu_with_one_libvips_thread() -> None:
    # Given a process that may use every CPU
    # When the benchmark pins it as a one-core contender
    shown = json.loads(
        _run_in_bench(
            "import json, os, processing\n"
            "processing.use_cpus(1)\n"
            "print(json.dumps([len(os.sched_getaffinity(0)), os.environ.get('VIPS_CONCURRENCY')]))"
        )
    )
    # Then it runs on one CPU, and libvips (which reads VIPS_CONCURRENCY when it loads) gets one worker thread
    assert shown == [1, "1"]


def test_report_leads_with_one_core_and_names_the_photo_with_the_largest_peak() -> None:
    # Given measured runs of every contender on one core and on two, and a peak RSS per photo
    code = """
import json, processing
from photos import Photo
photos = [Photo(f"/x/{name}.jpg", "JPEG", 100, 100, mp, False, 1, "") for name, mp in (("a", 2.0), ("b", 18.0))]
run = processing.CorpusRun(rounds=2, cpu_counts=(1, 2))
one_core = {"ours": (80, 400), "naive": (200, 1000), "pyvips": (100, 500)}
for cpus in (1, 2):
    for name, times in one_core.items():
        run.wall[(name, cpus)] = [ms / cpus for ms in times]
        run.cpu[(name, cpus)] = list(times)
        run.photo[(name, cpus)] = [0, 1]
        run.peak_rss[(name, cpus)] = 100.0
peaks = {
    name: {"peak_mb": 126.0, "photo": "b.jpg", "by_photo": {"a.jpg": {"peak_mb": 60.0}, "b.jpg": {"peak_mb": 126.0}}}
    for name in processing.IMPLEMENTATIONS
}
labels = {name: {"large.jpeg": 40.0} for name in processing.IMPLEMENTATIONS}
report = processing.summarise(photos, run, peaks=peaks, quality=labels, sizes=labels, steps={})
processing.print_report(report)
print(json.dumps(report["ratios"]))
"""
    # When the report is made and printed
    printed = _run_in_bench(code)
    ratios = json.loads(printed.strip().splitlines()[-1])
    # Then the ratios are per CPU count, each from that count's own runs
    assert ratios["1"]["ours/pyvips"]["median_ms"] == pytest.approx(240 / 300)
    assert ratios["1"]["ours/naive"]["mean_ms"] == pytest.approx(240 / 600)
    assert ratios["2"]["ours/pyvips"]["cpu_mean_ms"] == pytest.approx(240 / 300)
    # And the headline table shows one core first, two cores beside it, and the photo behind the worst peak
    header = next(line for line in printed.splitlines() if line.startswith("| implementation"))
    assert header.index("1 core") < header.index("2 core")
    assert "126 (b.jpg)" in printed


def test_pyvips_reference_stamps_only_the_marks_area_with_the_same_pixels() -> None:
    pytest.importorskip("pyvips", reason="bench-only dependency (make bench-setup)")
    code = """
import processing, pyvips
from PIL import Image
photo = Image.radial_gradient("L").resize((1600, 900)).convert("RGB")
image = pyvips.Image.new_from_memory(photo.tobytes(), 1600, 900, 3, "uchar").copy(interpretation="srgb")
stamped = processing.pyvips_stamper(pyvips)(image)
canvas = processing.apply_watermark(Image.new("RGBA", photo.size, (0, 0, 0, 0)), processing.WATERMARK)
box = canvas.getbbox()
mark = canvas.crop(box)
overlay = pyvips.Image.new_from_memory(mark.tobytes(), mark.width, mark.height, 4, "uchar").copy(interpretation="srgb")
full_frame = image.composite2(overlay, "over", x=box[0], y=box[1], compositing_space="srgb").extract_band(0, n=3)
print((stamped - full_frame.cast("uchar")).abs().max(), stamped.bands, (stamped - image).abs().max())
"""
    # Given a photo-sized image and the bench's watermark
    # When the pyvips reference stamps it over the mark's area only
    difference, bands, change = _run_in_bench(code).split()
    # Then the pixels equal a full-frame composite's, the image stays RGB, and the mark is really there
    assert float(difference) == 0
    assert bands == "3"
    assert float(change) > 0

"""Resource limits (issue 5, point 2): the largest image the platform accepts is processed within the memory and
timeout that serverless.yml declares for each image step, and anything larger is rejected from its header, before a
pixel is decoded, at almost no memory.

Each step runs in its own subprocess (tests/support/step_probe.py: the real step function, S3 replaced by files),
as its own Lambda would, timed from the parent with interpreter start and imports included (a cold start). The peak
RSS is the child's VmHWM from /proc, which exec resets: Linux's ru_maxrss (getrusage RUSAGE_CHILDREN or wait4) keeps
the high-water mark of the forking parent's address space (this pytest process), so it would measure the parent.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from image_factory import png_header_claiming
from imgplat_common.keys import original_key
from imgplat_processing.settings import ImageSettings
from PIL import Image, ImageChops

from local.lambda_runtime import environment_from_defaults
from local.serverless_files import load_yaml, param_default

SERVICE_DIR = Path(__file__).resolve().parents[2]
REPO = SERVICE_DIR.parents[1]
PROBE = SERVICE_DIR / "tests" / "support" / "step_probe.py"
OWNER = "6f1c2d3e-4a5b-4c7d-8e9f-0a1b2c3d4e5f"
IMAGE_ID = "0190a1b2c3d4e5f60718293a4b5c6d7e"
ORIGINALS, RENDITIONS = "originals-bucket", "renditions-bucket"
IMAGE_STEPS = ("validate", "resize", "watermark")
# What the Lambda runtime itself (bootstrap, runtime interface client) adds to a function's own memory.
RUNTIME_OVERHEAD_MB = 64


@dataclass(frozen=True)
class Measured:
    step: str
    peak_rss_mb: float
    seconds: float
    rejected: str | None


def _config() -> dict[str, Any]:
    return load_yaml(SERVICE_DIR / "serverless.yml")


def _limits() -> dict[str, int]:
    """The limits as deployed: the settings model's defaults, and upload's byte cap (compose passes it on)."""
    defaults = ImageSettings.model_fields
    return {
        "maxPixels": defaults["max_pixels"].default,
        "maxFrames": defaults["max_frames"].default,
        "maxTotalPixels": defaults["max_total_pixels"].default,
        "maxUploadBytes": int(param_default("upload", "maxUploadBytes")),
    }


def _environment(step: str) -> dict[str, str]:
    """The step function's environment from serverless.yml (its default params, so the limits as deployed), and the
    import path of the service."""
    resources = {
        "ORIGINALS_BUCKET": ORIGINALS,
        "RENDITIONS_BUCKET": RENDITIONS,
        "MAX_UPLOAD_BYTES": str(_limits()["maxUploadBytes"]),
    }
    return {
        **os.environ,
        **environment_from_defaults(_config(), step, resources=resources),
        "PYTHONPATH": os.pathsep.join([str(SERVICE_DIR), str(REPO / "libs" / "common" / "src"), str(REPO)]),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "MALLOC_ARENA_MAX": "2",
    }


def _run_step(step: str, workdir: Path) -> Measured:
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, str(PROBE), step, str(workdir)],
        env=_environment(step),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    output, errors = child.communicate()
    seconds = time.monotonic() - started
    assert child.returncode == 0, errors.decode()[-3000:]
    report = json.loads(output.decode().strip().splitlines()[-1])
    return Measured(step, report["peak_rss_kb"] / 1024, seconds, report["rejected"])


def _process(tmp_path: Path, original: bytes, steps: tuple[str, ...] = IMAGE_STEPS) -> list[Measured]:
    key = original_key(OWNER, IMAGE_ID)
    (tmp_path / ORIGINALS / key).parent.mkdir(parents=True)
    (tmp_path / ORIGINALS / key).write_bytes(original)
    state = {
        "bucket": ORIGINALS,
        "key": key,
        "owner": OWNER,
        "image_id": IMAGE_ID,
        "size": len(original),
        "run_id": f"{IMAGE_ID}-0123456789abcdef",
        "claim": {"claimed_at_ms": 0, "declared_size": len(original)},  # the type is each test's own
    }
    (tmp_path / "state.json").write_text(json.dumps(state))
    return [_run_step(step, tmp_path) for step in steps]


def _photo_like(width: int, height: int) -> Image.Image:
    """Smooth gradients under strong grain: compresses and decodes like a real photo (not like a flat colour)."""
    grain = Image.effect_noise((width, height), 48)
    across = Image.linear_gradient("L").resize((width, height))
    down = Image.linear_gradient("L").rotate(90).resize((width, height))
    return Image.merge(
        "RGB",
        (
            Image.blend(across, grain, 0.4),
            Image.blend(down, grain, 0.3),
            Image.blend(ImageChops.invert(across), grain, 0.5),
        ),
    )


def _largest_accepted_jpeg() -> tuple[bytes, tuple[int, int]]:
    """At the pixel cap (8000 x 5000 by default), progressive (4-5x slower to decode) and turned by EXIF."""
    max_pixels = _limits()["maxPixels"]
    height = math.isqrt(max_pixels * 5 // 8)
    width = max_pixels // height
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    _photo_like(width, height).save(buffer, "JPEG", quality=88, progressive=True, exif=exif)
    return buffer.getvalue(), (width, height)


def _largest_accepted_heic() -> tuple[bytes, tuple[int, int]]:
    """At the pixel cap, as a phone writes HEIC: a grid of 512-pixel HEVC tiles, turned by EXIF. Smooth gradients
    (grain would take x265 a minute and pass the byte cap): the decode's memory depends on the size, not the content."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    max_pixels = _limits()["maxPixels"]
    height = math.isqrt(max_pixels * 5 // 8)
    width = max_pixels // height
    across = Image.linear_gradient("L").resize((width, height))
    down = Image.linear_gradient("L").rotate(90).resize((width, height))
    exif = Image.Exif()
    exif[0x0112] = 6
    previous, pillow_heif.options.GRID_TILE_SIZE = pillow_heif.options.GRID_TILE_SIZE, 512
    try:
        buffer = io.BytesIO()
        Image.merge("RGB", (across, down, ImageChops.invert(across))).save(
            buffer, "HEIF", quality=50, exif=exif.tobytes(), enc_params={"preset": "ultrafast"}
        )
    finally:
        pillow_heif.options.GRID_TILE_SIZE = previous
    return buffer.getvalue(), (width, height)


def _longest_accepted_gif() -> tuple[bytes, int]:
    """The most frames allowed, each as large as the total-pixel cap then allows."""
    limits = _limits()
    frames = limits["maxFrames"]
    per_frame = limits["maxTotalPixels"] // frames
    height = math.isqrt(per_frame * 5 // 8)
    width = per_frame // height
    base = Image.linear_gradient("L").resize((width, height))
    sequence = [ImageChops.offset(base, shift * 7, shift * 3) for shift in range(frames)]
    buffer = io.BytesIO()
    sequence[0].save(buffer, "GIF", save_all=True, append_images=sequence[1:], duration=40, loop=0)
    return buffer.getvalue(), frames


def _assert_within_declared_limits(measured: list[Measured]) -> None:
    functions = _config()["functions"]
    for step in measured:
        declared = functions[step.step]
        print(
            f"{step.step}: peak RSS {step.peak_rss_mb:.0f} MB of {declared['memorySize']} MB, "
            f"{step.seconds:.1f} s of {declared['timeout']} s"
        )
        assert step.rejected is None, f"{step.step} rejected an image the limits accept: {step.rejected}"
        assert step.peak_rss_mb + RUNTIME_OVERHEAD_MB < declared["memorySize"], step
        assert step.seconds < declared["timeout"], step


def test_the_largest_accepted_photo_is_processed_within_each_steps_declared_memory_and_timeout(tmp_path: Path):
    original, (width, height) = _largest_accepted_jpeg()
    assert width * height <= _limits()["maxPixels"] < (width + 1) * (height + 1)
    assert len(original) <= _limits()["maxUploadBytes"]

    measured = _process(tmp_path, original)

    _assert_within_declared_limits(measured)
    rendered = json.loads((tmp_path / "state.json").read_text())["rendered"]["renditions"]
    assert rendered["large"]["files"]["jpeg"]["height"] == 1600  # turned upright: portrait


def test_the_largest_accepted_heic_is_processed_within_each_steps_declared_memory_and_timeout(tmp_path: Path):
    original, (width, height) = _largest_accepted_heic()
    assert width * height <= _limits()["maxPixels"]

    measured = _process(tmp_path, original)

    _assert_within_declared_limits(measured)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["validated"]["format"] == "HEIF"
    assert state["rendered"]["renditions"]["large"]["files"]["jpeg"]["height"] == 1600  # turned upright: portrait


def test_the_animation_with_the_most_frames_allowed_is_processed_within_the_declared_limits(tmp_path: Path):
    original, frames = _longest_accepted_gif()
    assert len(original) <= _limits()["maxUploadBytes"]

    measured = _process(tmp_path, original)

    _assert_within_declared_limits(measured)
    assert json.loads((tmp_path / "state.json").read_text())["validated"]["frames"] == frames


def test_an_image_over_the_pixel_cap_is_rejected_from_its_header_at_almost_no_memory(tmp_path: Path):
    # Given a 100,000 x 100,000 PNG (10 gigapixels, 30 GB decoded) in a file of a few hundred bytes
    bomb = png_header_claiming(100_000, 100_000)
    assert len(bomb) < 1024

    # When Validate looks at it; and, for comparison, at an empty state (the interpreter and imports alone)
    (rejected,) = _process(tmp_path / "bomb", bomb, steps=("validate",))
    (baseline,) = _process(tmp_path / "empty", b"", steps=("validate",))

    # Then it is rejected for its dimensions, and the step used no more memory than rejecting an empty file
    print(f"bomb: peak RSS {rejected.peak_rss_mb:.0f} MB; an empty file: {baseline.peak_rss_mb:.0f} MB")
    assert rejected.rejected == "too_many_pixels"
    assert baseline.rejected == "empty"
    assert rejected.peak_rss_mb - baseline.peak_rss_mb < 16


def test_one_frame_more_than_allowed_is_rejected(tmp_path: Path):
    limits = _limits()
    sequence = [Image.new("L", (8, 8), index % 256) for index in range(limits["maxFrames"] + 1)]
    buffer = io.BytesIO()
    sequence[0].save(buffer, "GIF", save_all=True, append_images=sequence[1:])

    (measured,) = _process(tmp_path, buffer.getvalue(), steps=("validate",))

    assert measured.rejected == "too_many_frames"

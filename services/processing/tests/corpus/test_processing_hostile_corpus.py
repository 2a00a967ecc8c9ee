"""Every hostile or awkward input ends REJECTED with a readable reason or READY with clean outputs: never a crash,
a hang or FAILED. Runs the same functions the Validate, Resize and Watermark steps call, with the default limits."""

from __future__ import annotations

import io
import signal
import time
from collections import Counter

import pytest
from hostile_inputs import CORPUS, READY, REJECTED, Case
from image_settings import DEFAULT_RENDITIONS, LIMITS, watermark
from imgplat_processing.images.encode import encode_rendition
from imgplat_processing.images.metadata import extract_exif_summary
from imgplat_processing.images.renditions import render_renditions
from imgplat_processing.images.validate import ImageRejected, validate_image
from imgplat_processing.images.watermark import apply_watermark
from PIL import ExifTags, Image

SECONDS_PER_CASE = 20  # a hang is a failure, not a stuck CI run
WATERMARK = watermark(text="© imgplat")
INTERNAL_WORDS = ("Traceback", "Error(", "PIL.", "Pillow", "/site-packages/", "exception")


class Hung(Exception):
    pass


def _alarm(*_: object) -> None:
    raise Hung


def process(data: bytes) -> tuple[str, str]:
    """The terminal state the workflow would reach, and the reason (REJECTED) or '' (READY)."""
    try:
        validated = validate_image(data, LIMITS)
        exif = extract_exif_summary(data, validated.format)
        assert set(exif) == {"camera_make", "camera_model", "lens", "taken_at"}
        for rendered in render_renditions(data, DEFAULT_RENDITIONS, validated.format):
            image = (
                apply_watermark(rendered.image, WATERMARK) if WATERMARK.applies_to(rendered.name) else rendered.image
            )
            for fmt in ("jpeg", "webp"):
                check_clean_output(encode_rendition(image, fmt), rendered.long_edge)
    except ImageRejected as rejected:
        return REJECTED, rejected.reason
    return READY, ""


def check_clean_output(encoded: bytes, long_edge: int) -> None:
    output = Image.open(io.BytesIO(encoded))
    output.load()
    assert max(output.size) <= long_edge and min(output.size) >= 1
    assert output.mode in {"RGB", "RGBA"}
    exif = output.getexif()
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and not dict(exif)


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_each_input_ends_in_its_expected_terminal_state(case: Case):
    data = case.make()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS_PER_CASE)
    try:
        state, reason = process(data)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert state == case.expected, f"{case.name}: {state} {reason}"
    if state == REJECTED:
        assert reason.endswith(".") and len(reason) > 15, reason
        assert not any(word in reason for word in INTERNAL_WORDS), reason


def test_the_corpus_table_and_totals(capsys):
    rows, started = [], time.monotonic()
    for case in CORPUS:
        state, reason = process(case.make())
        rows.append((case.name, state, reason))
    with capsys.disabled():
        print(f"\n{'case':<40} {'state':<9} reason")
        for name, state, reason in rows:
            print(f"{name:<40} {state:<9} {reason}")
        totals = Counter(state for _, state, _ in rows)
        print(f"{len(rows)} cases: {dict(totals)} in {time.monotonic() - started:.1f} s")
    assert len(rows) >= 40
    assert totals == Counter(case.expected for case in CORPUS)
    assert set(totals) <= {READY, REJECTED}

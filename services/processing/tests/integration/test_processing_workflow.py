"""The image workflow end to end on moto: the real step handlers, run in the order statemachine.asl.yaml gives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

import processing_samples as samples
import pytest
from imgplat_common.keys import rendition_prefix, work_prefix
from imgplat_common.settings import load_settings
from imgplat_common.status import ImageStatus
from imgplat_processing import store
from imgplat_processing.ports import TransientError
from imgplat_processing.workflow_state import ProcessingRequest, StaleEvent
from PIL import Image
from processing_harness import (
    RENDITIONS_BUCKET,
    LogLines,
    Platform,
    Workflow,
    WorkflowRun,
    assert_settled,
    invoke,
    run_workflow,
)

RENDITION_LONG_EDGES = {"thumb": 150, "small": 320, "medium": 800, "large": 1600}
# The default AVIF_RENDITIONS: AVIF beside JPEG and WebP for these only.
AVIF_RENDITIONS = {"thumb", "small"}


def _image_of(platform: Platform, key: str) -> Image.Image:
    body = platform.s3.get_object(Bucket=RENDITIONS_BUCKET, Key=key)["Body"].read()
    image = Image.open(BytesIO(body))
    image.load()
    return image


def _assert_ready_with_renditions(platform: Platform, request: ProcessingRequest, width: int, height: int) -> None:
    record = platform.record(request)
    assert record.status is ImageStatus.READY
    assert (record.width, record.height) == (width, height)
    assert set(record.renditions) == set(RENDITION_LONG_EDGES)
    for name, rendition in record.renditions.items():
        assert rendition.long_edge == RENDITION_LONG_EDGES[name]
        assert set(rendition.files) == {"jpeg", "webp"} | ({"avif"} if name in AVIF_RENDITIONS else set())
        for image_format, file in rendition.files.items():
            assert _image_of(platform, file.key).size == (file.width, file.height)
            head = platform.s3.head_object(Bucket=RENDITIONS_BUCKET, Key=file.key)
            assert head["ContentType"] == f"image/{image_format}"
            assert head["ServerSideEncryption"] == "aws:kms"
            assert head["SSEKMSKeyId"] == platform.kms_key_arn
            assert head["CacheControl"] == "public, max-age=31536000, immutable"
            assert head["ContentLength"] == file.bytes
            image = _image_of(platform, file.key)
            assert image.size == (file.width, file.height)
            assert max(image.size) == min(rendition.long_edge, max(width, height))
    assert platform.renditions_keys(work_prefix(request.owner, request.image_id, request.run_id)) == []


def test_jpeg_turned_by_exif_becomes_ready_with_upright_watermarked_renditions(platform: Platform):
    # Given a 1200 x 800 JPEG whose EXIF says to show it turned (portrait, 800 x 1200)
    request = platform.upload(samples.jpeg_with_exif_orientation((1200, 800), orientation=6))

    # When the workflow runs
    run = run_workflow(request)

    # Then the record is READY with the displayed size, EXIF facts, placeholder and colour
    assert run.end_state == "Done", run.errors
    assert run.path == ["Claim", "Validate", "Resize", "Watermark", "Persist", "Done"]
    _assert_ready_with_renditions(platform, request, 800, 1200)
    record = platform.record(request)
    assert record.format == "JPEG"
    assert record.exif is not None
    assert (record.exif.camera_make, record.exif.camera_model) == ("Imgplat", "Test Camera")
    assert record.exif.taken_at == "2024-05-06T07:08:09"
    assert record.placeholder
    assert record.dominant_color and record.dominant_color.startswith("#") and len(record.dominant_color) == 7
    assert record.processing_ms is not None and record.processing_ms >= 0
    assert "pillow" in record.library_versions
    assert record.run_id == request.run_id
    # renditions are portrait; nothing is upscaled (large stays at the original's 1200 px)
    thumb = record.renditions["thumb"].files["jpeg"]
    assert (thumb.width, thumb.height) == (100, 150)
    assert record.renditions["large"].files["webp"].height == 1200
    assert {name: r.watermarked for name, r in record.renditions.items()} == {
        "thumb": False,
        "small": False,
        "medium": True,
        "large": True,
    }
    # and the only objects left are the published renditions
    published = sorted(f.key for r in record.renditions.values() for f in r.files.values())
    assert platform.renditions_keys() == published


@pytest.mark.parametrize(
    ("data", "content_type", "size"),
    [
        pytest.param(samples.png_with_alpha((500, 400)), "image/png", (500, 400), id="png-with-alpha"),
        pytest.param(samples.palette_gif((300, 200)), "image/gif", (300, 200), id="palette-gif"),
        pytest.param(samples.cmyk_jpeg((640, 480)), "image/jpeg", (640, 480), id="cmyk-jpeg"),
        pytest.param(samples.sixteen_bit_png((400, 300)), "image/png", (400, 300), id="16-bit-png"),
        pytest.param(samples.heic_photo((1200, 900)), "image/heic", (1200, 900), id="heic-grid"),
        pytest.param(samples.avif_with_alpha((500, 400)), "image/avif", (500, 400), id="avif-with-alpha"),
    ],
)
def test_each_supported_kind_of_image_becomes_ready(platform: Platform, data: bytes, content_type: str, size: Any):
    request = platform.upload(data, content_type)

    run = run_workflow(request)

    assert run.end_state == "Done", run.errors
    _assert_ready_with_renditions(platform, request, *size)


def test_transparency_survives_in_webp_and_is_flattened_in_jpeg(platform: Platform):
    request = platform.upload(samples.png_with_alpha((500, 400)), "image/png")

    run_workflow(request)

    files = platform.record(request).renditions["small"].files
    assert _image_of(platform, files["webp"].key).mode == "RGBA"
    assert _image_of(platform, files["jpeg"].key).mode == "RGB"


def test_cmyk_original_is_served_as_rgb(platform: Platform):
    request = platform.upload(samples.cmyk_jpeg(), "image/jpeg")

    run_workflow(request)

    assert _image_of(platform, platform.record(request).renditions["medium"].files["jpeg"].key).mode == "RGB"


def test_logo_watermark_from_the_renditions_bucket_is_stamped(platform: Platform, monkeypatch: pytest.MonkeyPatch):
    # Given a logo configured in the renditions bucket and an image that is plain blue where the logo goes
    platform.s3.put_object(Bucket=RENDITIONS_BUCKET, Key="config/logo.png", Body=samples.logo_png())
    monkeypatch.setenv("WATERMARK_LOGO_KEY", "config/logo.png")
    monkeypatch.setenv("WATERMARK_TEXT", "")
    monkeypatch.setenv("WATERMARK_OPACITY", "1.0")
    load_settings.cache_clear()
    request = platform.upload(samples.jpeg_with_exif_orientation((1000, 800), orientation=1))

    run = run_workflow(request)

    # Then the watermarked rendition has the white logo near its bottom-right corner; the thumb does not
    assert run.end_state == "Done", run.errors
    record = platform.record(request)
    medium = _image_of(platform, record.renditions["medium"].files["webp"].key).convert("RGB")
    assert min(medium.getpixel((medium.width - 50, medium.height - 35))) > 200
    assert record.renditions["medium"].watermarked
    assert not record.renditions["thumb"].watermarked


def test_a_missing_logo_stamps_the_text_alone_and_the_image_becomes_ready(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, logged: LogLines
):
    # Given a logo key that names no object (NoSuchKey: on AWS the role may list config/ for that, serverless.yml)
    monkeypatch.setenv("WATERMARK_LOGO_KEY", "config/no-such-logo.png")
    load_settings.cache_clear()
    request = platform.upload(samples.jpeg_with_exif_orientation((1000, 800), orientation=1))

    run = run_workflow(request)

    assert run.end_state == "Done", run.errors
    assert platform.record(request).renditions["large"].watermarked
    assert any(line.get("message") == "watermark logo not found; stamping text only" for line in logged())


def test_rendition_formats_webp_writes_each_rendition_once_as_webp_and_the_record_lists_only_those(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    # Given a deployment that writes every rendition as WebP only, and no AVIF
    monkeypatch.setenv("RENDITION_FORMATS", "webp")
    monkeypatch.setenv("AVIF_RENDITIONS", "")
    load_settings.cache_clear()
    request = platform.upload(samples.jpeg_with_exif_orientation((1000, 800), orientation=1))

    # When the workflow runs
    run = run_workflow(request)

    # Then each rendition is one WebP object, the record names nothing else, and nothing else is left
    assert run.end_state == "Done", run.errors
    record = platform.record(request)
    assert {name: tuple(rendition.files) for name, rendition in record.renditions.items()} == dict.fromkeys(
        RENDITION_LONG_EDGES, ("webp",)
    )
    published = sorted(rendition.files["webp"].key for rendition in record.renditions.values())
    assert platform.renditions_keys() == published
    for rendition in record.renditions.values():
        assert _image_of(platform, rendition.files["webp"].key).format == "WEBP"


@contextmanager
def _s3_calls() -> Iterator[list[tuple[str, str]]]:
    """(operation, key) of every S3 call the steps make meanwhile (listings have no key: "")."""
    calls: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, params.get("Key", "")))

    events = store.s3_client().meta.events
    events.register("before-parameter-build.s3", record)
    try:
        yield calls
    finally:
        events.unregister("before-parameter-build.s3", record)


def test_intermediates_are_one_raw_pixel_object_described_by_the_step_result(platform: Platform):
    # Given an image with transparency, validated and resized
    request = platform.upload(samples.png_with_alpha((500, 400)), "image/png")
    state = request.model_dump(mode="json")
    state["claim"] = invoke("claim", state)
    state["validated"] = invoke("validate", state)
    with _s3_calls() as calls:
        resized = invoke("resize", state)

    # Then every rendition's pixels are in ONE object under the run's work prefix, written with one PUT and nothing
    # else beside it, each at its offset with exactly width x height pixels of its mode
    prefix = work_prefix(request.owner, request.image_id, request.run_id)
    assert platform.renditions_keys(prefix) == [resized["work_key"]]
    assert [operation for operation, _ in calls if operation != "GetObject"] == ["PutObject"]
    body = platform.s3.get_object(Bucket=RENDITIONS_BUCKET, Key=resized["work_key"])["Body"].read()
    spans = []
    for name, intermediate in resized["intermediates"].items():
        assert intermediate["mode"] == "RGBA"
        size = intermediate["width"] * intermediate["height"] * 4
        pixels = body[intermediate["offset"] : intermediate["offset"] + size]
        image = Image.frombytes(intermediate["mode"], (intermediate["width"], intermediate["height"]), pixels)
        assert max(image.size) == min(RENDITION_LONG_EDGES[name], 500)
        spans.append((intermediate["offset"], size))
    assert sum(size for _, size in spans) == len(body)  # back to back, nothing missing or left over


def test_watermark_reads_the_work_object_once_and_deletes_it_by_key_without_listing(platform: Platform):
    # Given a run that has been resized
    request = platform.upload(samples.jpeg_with_exif_orientation())
    state = request.model_dump(mode="json")
    state["claim"] = invoke("claim", state)
    state["validated"] = invoke("validate", state)
    state["resized"] = invoke("resize", state)

    with _s3_calls() as calls:
        invoke("watermark", state)

    # Then it read the work object once, removed it with one DeleteObject by its key, and listed nothing
    work_calls = [(operation, key) for operation, key in calls if operation != "PutObject"]
    work_key = state["resized"]["work_key"]
    assert work_calls == [("GetObject", work_key), ("DeleteObject", work_key)]
    assert platform.renditions_keys(work_prefix(request.owner, request.image_id, request.run_id)) == []


def test_two_executions_of_one_run_resize_into_their_own_work_objects_and_a_retry_rewrites_its_own(
    platform: Platform,
):
    # Given two executions of the same run (Express may start a duplicate), each with its own token, resized
    request = platform.upload(samples.jpeg_with_exif_orientation())
    first = {**request.model_dump(mode="json"), "execution_token": "aaaaaaaaaaaaaaaa"}
    second = {**first, "execution_token": "bbbbbbbbbbbbbbbb"}
    first["claim"] = invoke("claim", first)
    second["claim"] = first["claim"]  # its own Claim would find the image taken; the image steps are what matter here
    for state in (first, second):
        state["validated"] = invoke("validate", state)
        state["resized"] = invoke("resize", state)

    # When the first one's Resize is retried, then its Watermark runs
    assert invoke("resize", first)["work_key"] == first["resized"]["work_key"]
    invoke("watermark", first)

    # Then each wrote under its own execution's prefix, and the first one's clean-up left the second one's pixels
    work_keys = {state["execution_token"]: state["resized"]["work_key"] for state in (first, second)}
    assert len(set(work_keys.values())) == 2
    assert platform.renditions_keys("work/") == [work_keys["bbbbbbbbbbbbbbbb"]]


# --- rejected uploads -----------------------------------------------------------------------------------------------


def _assert_rejected_and_cleaned(platform: Platform, request: ProcessingRequest, run: WorkflowRun) -> str:
    assert run.end_state == "Rejected", run.errors
    record = platform.record(request)
    assert record.status is ImageStatus.REJECTED
    assert record.renditions == {}
    assert platform.original_tags(request) == {"status": "rejected"}
    assert platform.renditions_keys() == []
    assert record.reason is not None
    return record.reason


def test_truncated_file_is_rejected_with_a_readable_reason(platform: Platform):
    request = platform.upload(samples.truncated_jpeg())

    run = run_workflow(request)

    reason = _assert_rejected_and_cleaned(platform, request, run)
    assert reason == "The image file is incomplete; please upload it again."
    # Validate reads headers only; the one decode of the pixels, in Resize, finds the truncation.
    assert run.path == ["Claim", "Validate", "Resize", "MarkRejected", "Rejected"]


def test_image_claiming_too_many_pixels_is_rejected_before_decoding(platform: Platform):
    # 81 megapixels: over the platform's 40 MP limit, under Pillow's own bomb warning (so our check is what stops it)
    request = platform.upload(samples.png_header_claiming(9_000, 9_000), "image/png")

    run = run_workflow(request)

    reason = _assert_rejected_and_cleaned(platform, request, run)
    assert reason == "The image is 9000 x 9000 pixels; at most 40 megapixels are allowed."


def test_file_that_is_not_an_image_is_rejected(platform: Platform):
    request = platform.upload(b"<html><script>alert(1)</script></html>", "image/jpeg")

    reason = _assert_rejected_and_cleaned(platform, request, run_workflow(request))

    assert reason.startswith("This file type is not supported")


def test_original_over_the_size_limit_is_rejected_from_its_headers(platform: Platform, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    load_settings.cache_clear()
    request = platform.upload(samples.jpeg_with_exif_orientation((400, 300)))

    reason = _assert_rejected_and_cleaned(platform, request, run_workflow(request))

    assert reason == "The file is larger than the 0.000953674 MB limit."


# --- platform failures ----------------------------------------------------------------------------------------------


def test_original_gone_mid_run_marks_failed_with_an_error_id(platform: Platform):
    # Given the original disappears after it was validated
    request = platform.upload(samples.jpeg_with_exif_orientation())

    def delete_original(state: dict[str, Any]) -> None:
        platform.s3.delete_object(Bucket=request.bucket, Key=request.key)

    # When the workflow runs
    run = run_workflow(request, before={"Resize": delete_original})

    # Then the record is FAILED with an error id, the execution fails (the alarm sees it) and nothing is left behind
    assert run.end_state == "ProcessingFailed"
    assert run.path[-4:] == ["Resize", "MarkFailed", "FailureOutcome", "ProcessingFailed"]
    record = platform.record(request)
    assert record.status is ImageStatus.FAILED
    assert record.error_id and len(record.error_id) == 32
    assert run.state["outcome"]["error_id"] == record.error_id
    assert platform.renditions_keys() == []


def test_a_run_resized_before_the_one_work_object_upgrade_ends_failed_at_watermark_and_leaves_nothing(
    platform: Platform,
):
    # Given a run whose Resize ran on the code before this upgrade: one raw object per rendition, each named in the
    # step result, and no work_key (docs/deploy.md, Updating: runs in flight)
    request = platform.upload(samples.jpeg_with_exif_orientation())

    def resized_by_the_previous_release(state: dict[str, Any]) -> dict[str, Any]:
        resized = state["resized"]
        folder = resized["work_key"].rsplit("/", 1)[0]
        platform.s3.delete_object(Bucket=RENDITIONS_BUCKET, Key=resized["work_key"])
        intermediates = {}
        for name, intermediate in resized["intermediates"].items():
            key = f"{folder}/{name}.raw"
            platform.s3.put_object(Bucket=RENDITIONS_BUCKET, Key=key, Body=b"pixels")
            intermediates[name] = {
                "key": key,
                **{field: intermediate[field] for field in ("long_edge", "width", "height", "mode")},
            }
        old_shape = {key: value for key, value in resized.items() if key != "work_key"}
        return {**state, "resized": {**old_shape, "intermediates": intermediates}}

    # When the upgraded Watermark receives it
    run = run_workflow(request, before={"Watermark": resized_by_the_previous_release})

    # Then the run ends FAILED with an error id (the cause in Watermark's error), and the old files are gone
    assert run.path[-4:] == ["Watermark", "MarkFailed", "FailureOutcome", "ProcessingFailed"]
    assert run.errors and run.errors[0]["Error"] == "ValidationError", run.errors
    record = platform.record(request)
    assert record.status is ImageStatus.FAILED and record.error_id
    assert platform.renditions_keys() == []


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # Persist fails before counting anything
def test_failure_after_renditions_were_published_removes_them(platform: Platform):
    # Given Persist receives a state it cannot use (a broken step), after Watermark published the renditions
    request = platform.upload(samples.jpeg_with_exif_orientation())

    def lose_the_claim(state: dict[str, Any]) -> dict[str, Any]:
        assert platform.renditions_keys(), "Watermark should have published renditions by now"
        return {key: value for key, value in state.items() if key != "claim"}

    run = run_workflow(request, before={"Persist": lose_the_claim})

    assert run.end_state == "ProcessingFailed"
    assert platform.record(request).status is ImageStatus.FAILED
    assert platform.renditions_keys() == []


def test_claim_that_keeps_failing_marks_the_image_failed_instead_of_leaving_it_pending(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    # Given the table refuses every claim (throttled beyond the retries; a timeout or AccessDenied end the same way)
    request = platform.upload(samples.jpeg_with_exif_orientation())
    real_transition = store.processing_store().transition

    def claims_refused(table_name: str, **write: Any) -> Any:
        if write["target"] is ImageStatus.PROCESSING:
            raise TransientError("claim: ThrottlingException")
        return real_transition(table_name, **write)

    monkeypatch.setattr(store.processing_store(), "transition", claims_refused)

    # When the workflow runs
    run = run_workflow(request)

    # Then the image is FAILED with an error id (the ingest message is gone: PENDING would be forever)
    assert run.path == ["Claim", "MarkFailed", "FailureOutcome", "ProcessingFailed"]
    assert [error["Error"] for error in run.errors] == ["TransientError"]
    record = platform.record(request)
    assert record.status is ImageStatus.FAILED
    assert record.error_id and run.state["outcome"]["error_id"] == record.error_id


def _delete_as_the_owner_does(platform: Platform, request: ProcessingRequest) -> None:
    """What DELETE /image/{id} does: the original, every rendition, then the record."""
    platform.s3.delete_object(Bucket=request.bucket, Key=request.key)
    for key in platform.renditions_keys(rendition_prefix(request.owner, request.image_id)):
        platform.s3.delete_object(Bucket=RENDITIONS_BUCKET, Key=key)
    platform.table.delete_item(Key={"owner": request.owner, "image_id": request.image_id})


@pytest.mark.parametrize("deleted_before", ["Validate", "Resize", "Watermark", "Persist"])
def test_image_deleted_during_processing_ends_as_image_gone_and_leaves_nothing(platform: Platform, deleted_before: str):
    # Given the owner deletes the image while the run is processing it
    request = platform.upload(samples.jpeg_with_exif_orientation())

    def owner_deletes_the_image(state: dict[str, Any]) -> None:
        _delete_as_the_owner_does(platform, request)

    # When the run goes on
    run = run_workflow(request, before={deleted_before: owner_deletes_the_image})

    # Then it ends as ImageGone (a success: no alarm for an ordinary user action), creates no record, and removes
    # everything it wrote, renditions published after the owner's delete included
    assert run.end_state == "ImageGone", run.errors
    assert run.path[-3:] == ["MarkFailed", "FailureOutcome", "ImageGone"]
    assert run.state["outcome"]["image_gone"] is True
    assert platform.item(request) is None
    assert platform.renditions_keys() == []


def test_run_whose_image_another_run_finished_keeps_that_runs_renditions(platform: Platform):
    # Given another run makes the image READY (same content, same rendition keys) while this one is in Watermark
    request = platform.upload(samples.jpeg_with_exif_orientation())

    def another_run_finishes(state: dict[str, Any]) -> None:
        platform.table.update_item(
            Key={"owner": request.owner, "image_id": request.image_id},
            UpdateExpression="SET #status = :ready, run_id = :other",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":ready": "READY", ":other": f"{request.image_id}-ffffffffffffffff"},
        )

    run = run_workflow(request, before={"Watermark": another_run_finishes})

    # Then this run leaves the record and the renditions it may be serving alone, and ends without an alarm
    assert run.path[-4:] == ["Persist", "MarkFailed", "FailureOutcome", "AlreadySettled"]
    assert run.state["outcome"] == {**run.state["outcome"], "recorded": False, "image_gone": False}
    assert platform.record(request).status is ImageStatus.READY
    published = platform.renditions_keys(rendition_prefix(request.owner, request.image_id))
    assert len(published) == 2 * len(RENDITION_LONG_EDGES) + len(AVIF_RENDITIONS)
    assert platform.renditions_keys(work_prefix(request.owner, request.image_id, request.run_id)) == []


def test_every_step_logs_with_the_image_id_as_correlation_id_and_the_run_id(platform: Platform, logged: LogLines):
    request = platform.upload(samples.jpeg_with_exif_orientation())

    run_workflow(request, before={"Resize": lambda state: _delete_original(platform, request)})
    rejected = platform.upload(samples.truncated_jpeg())
    run_workflow(rejected)

    lines = [line for line in logged() if line.get("function_name")]
    messages = {line["message"] for line in lines}
    assert {"image processing failed", "image rejected", "marking image rejected"} <= messages
    for line in lines:
        assert line.get("correlation_id") in (request.image_id, rejected.image_id), line
        assert line.get("run_id") in (request.run_id, rejected.run_id), line


def _delete_original(platform: Platform, request: ProcessingRequest) -> None:
    platform.s3.delete_object(Bucket=request.bucket, Key=request.key)


# --- duplicates, retries and late events -----------------------------------------------------------------------------


def test_late_event_after_ready_changes_nothing(platform: Platform, workflow: Workflow):
    # Given an image the workflow already made READY
    request = platform.upload(samples.jpeg_with_exif_orientation())
    workflow.start(request)
    before = platform.item(request)

    # When a late event for another version starts a second run
    late = request.model_copy(update={"run_id": f"{request.image_id}-fedcba9876543210"})
    run = workflow.start(late)

    # Then it ends as AlreadyHandled and the record is exactly as it was
    assert run is not None and run.end_state == "AlreadyHandled"
    assert run.path == ["Claim", "AlreadyHandled"]
    assert platform.item(request) == before
    with pytest.raises(StaleEvent):
        invoke("claim", late.model_dump(mode="json"))


def test_the_same_event_again_after_ready_changes_nothing(platform: Platform, workflow: Workflow):
    # Given an image the workflow already made READY
    request = platform.upload(samples.jpeg_with_exif_orientation())
    workflow.start(request)
    before = platform.item(request)

    # When S3's event for the same object version is delivered again
    again = workflow.start(request)

    # Then Standard refuses the run's name, and Express's second execution ends at Claim: nothing changes
    if workflow.workflow_type == "STANDARD":
        assert again is None
    else:
        assert again is not None and again.path == ["Claim", "AlreadyHandled"]
    assert platform.item(request) == before


def test_a_second_execution_of_the_same_run_during_the_first_gives_one_ready_and_one_event(
    platform: Platform, workflow: Workflow, monkeypatch: pytest.MonkeyPatch
):
    published: list[str] = []
    real_publish = store.processing_store().publish_event

    def recording_publish(event_bus_name: str, event: Any) -> None:
        real_publish(event_bus_name, event)
        published.append(event.detail_type)

    monkeypatch.setattr(store.processing_store(), "publish_event", recording_publish)
    request = platform.upload(samples.jpeg_with_exif_orientation())
    second_runs: list[WorkflowRun | None] = []

    def duplicate_event_arrives(state: dict[str, Any]) -> None:
        second_runs.append(workflow.start(request))

    # When the same object version's event starts a second execution while the first is in Watermark
    first = workflow.start(request, before={"Watermark": duplicate_event_arrives})

    # Then only the first execution works: one READY record with its renditions, one ImageReady
    assert first is not None and first.path == ["Claim", "Validate", "Resize", "Watermark", "Persist", "Done"]
    (second,) = second_runs
    if workflow.workflow_type == "STANDARD":
        assert second is None  # the run's name is taken
    else:
        assert second is not None and second.path == ["Claim", "AlreadyHandled"]
    record = assert_settled(platform, request, ImageStatus.READY)
    assert record.run_id == first.state["run_id"] + "-" + first.state["execution_token"]
    assert published == ["ImageReady"]


def test_a_second_execution_that_fails_at_claim_leaves_the_first_executions_work(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
):
    # Given an Express execution that holds the image and has written its intermediates (after Resize)
    workflow = Workflow("EXPRESS")
    request = platform.upload(samples.jpeg_with_exif_orientation())
    real_transition = store.processing_store().transition
    second_runs: list[WorkflowRun | None] = []

    def claim_unavailable(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("target") is ImageStatus.PROCESSING:
            raise TransientError("ThrottlingException (injected)")
        return real_transition(*args, **kwargs)

    def duplicate_whose_claim_keeps_failing(state: dict[str, Any]) -> None:
        monkeypatch.setattr(store.processing_store(), "transition", claim_unavailable)
        second_runs.append(workflow.start(request))
        monkeypatch.setattr(store.processing_store(), "transition", real_transition)

    # When a second execution of the same run cannot claim and ends through MarkFailed
    first = workflow.start(request, before={"Watermark": duplicate_whose_claim_keeps_failing})

    # Then its clean-up touched only its own work files: the first execution still makes the image READY
    (second,) = second_runs
    assert second is not None and second.end_state == "AlreadySettled"
    assert first is not None and first.end_state == "Done"
    assert_settled(platform, request, ImageStatus.READY)


def test_claim_retried_by_the_same_run_succeeds_but_another_run_is_refused(platform: Platform):
    request = platform.upload(samples.jpeg_with_exif_orientation())
    event = request.model_dump(mode="json")

    invoke("claim", event)
    invoke("claim", event)  # Step Functions retried a Claim whose answer was lost

    assert platform.record(request).status is ImageStatus.PROCESSING
    with pytest.raises(StaleEvent):
        invoke("claim", {**event, "run_id": f"{request.image_id}-aaaaaaaaaaaaaaaa"})


def test_claim_of_a_deleted_image_is_stale_and_creates_no_record(platform: Platform):
    request = platform.upload(samples.jpeg_with_exif_orientation())
    platform.table.delete_item(Key={"owner": request.owner, "image_id": request.image_id})

    with pytest.raises(StaleEvent):
        invoke("claim", request.model_dump(mode="json"))

    assert platform.item(request) is None


def test_persist_retried_after_it_succeeded_keeps_the_image_ready(platform: Platform):
    request = platform.upload(samples.jpeg_with_exif_orientation())
    run = run_workflow(request)
    persist_input = {key: value for key, value in run.state.items() if key != "persisted"}

    invoke("persist", persist_input)

    assert platform.record(request).status is ImageStatus.READY


def test_mark_failed_never_moves_a_ready_image_back(platform: Platform):
    request = platform.upload(samples.jpeg_with_exif_orientation())
    run = run_workflow(request)
    published = platform.renditions_keys()

    outcome = invoke("markFailed", {**run.state, "error": {"Error": "Boom", "Cause": "late"}})

    assert outcome["recorded"] is False
    assert platform.record(request).status is ImageStatus.READY
    assert platform.renditions_keys() == published

"""What 1,000 uploads and 10,000 views cost on AWS, from what the local platform measures (`make cost`).

    python bench/cost.py [--real-photos] [--photos 20] [--views-per-photo 10] [--prices bench/prices-us-east-1.json]
                         [--param renditions=thumb:150,medium:800 --param avifRenditions= ...] [--view-size medium]

Runs a batch of photos through the whole platform in this process (deployed into moto, real handlers):
sign in, POST /upload, PUT the photo to its pre-signed URL, wait for READY, then view each image through
GET /image/{id}?size=medium. It counts every request the emulator answers (local/request_counts.py), times every
handler invocation and the bytes it logs, reads the workflow's execution history, then prices each billable quantity
with the dated price table and prints the bill per 1,000 uploads + 10,000 views (docs/cost.md). The photos are
generated 12 MP JPEGs of noise (a worst case for the codecs, no download), or with --real-photos the benchmark's real
photos (bench/photos.py: Debian's wallpapers, 2-24 MP JPEG and PNG, prepared on first use). Each `--param`
deploys processing with that param set (as `--param` on a deploy does), so another configuration (fewer renditions,
no AVIF) is priced from what it measurably does.

Durations are this machine's, with the process pinned to one CPU where the OS allows (a Lambda at 1769 MB has one
vCPU; below that, a share of one): they stand in for arm64 Lambda durations, which are not measured here.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform as host
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from unittest import mock

import requests
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
# The handlers import as their Lambda packages have them: each service's directory on the path.
sys.path.insert(0, str(ROOT))
sys.path.extend(str(service) for service in sorted((ROOT / "services").iterdir()) if service.is_dir())
from local.lambdas import FunctionSpec, Invocation, function_environment  # noqa: E402
from local.platform import LocalPlatform, deployed_in_process  # noqa: E402
from local.request_counts import S3_READ, S3_WRITE_OR_LIST, RequestCounts, counting_in_process, s3_price_class  # noqa: E402

PRICES = Path(__file__).with_name("prices-us-east-1.json")
PASSWORD = "Correct-Horse-9-Battery"  # noqa: S105 - a local test account
TERMINAL = {"READY", "REJECTED", "FAILED"}
# What the bill is scaled to: processing per 1,000 uploads, delivery per 10,000 views.
UPLOADS, VIEWS = 1000, 10000
# Issue 14's target for processing (storage and egress excluded).
TARGET_USD_PER_1000_IMAGES = 0.06
KB, GB = 1024, 1024**3
# Lambda writes START, END and REPORT lines for every invocation besides what the handler logs (~300 bytes).
LAMBDA_PLATFORM_LOG_BYTES = 300
# Express workflows bill memory in 64 MB chunks; a workflow this size with small payloads uses the first chunk.
EXPRESS_MEMORY_GB = 64 / 1024
EXPRESS_ROUNDING_SECONDS = 0.1
# DynamoDB's write request unit covers 1 KB; a transactional write costs two.
WRITE_UNIT_BYTES = 1 * KB
DYNAMODB_READS = {"GetItem", "Query", "Scan"}
# Requests only the local platform makes: the local SQS poller resolves the queue URL on every poll and polls
# without waiting; Lambda's own pollers do neither (their long polls cost the same whether images come or not).
LOCAL_ONLY = {("sqs", "GetQueueUrl"), ("sqs", "ReceiveMessage"), ("sqs", "DeleteMessage")}


# --- the measurement -------------------------------------------------------------------------------------------
@dataclass
class FunctionUse:
    memory_mb: int
    in_workflow: bool = False  # invoked by Step Functions (its own thread here), not by API Gateway or a queue
    invocations: int = 0
    billed_ms: int = 0  # each invocation rounded up to 1 ms, as Lambda bills
    log_bytes: int = 0


@dataclass
class Phase:
    """What one phase (processing the uploads, or serving the views) used, as measured."""

    images: int
    requests: dict[str, dict[str, int]] = field(default_factory=dict)
    functions: dict[str, FunctionUse] = field(default_factory=dict)
    api_requests: int = 0
    queue_batches: int = 0  # SQS receives that delivered messages (each followed by one batch delete on AWS)
    s3_notifications: int = 0  # S3 -> SQS deliveries (moto makes them inside S3: the emulator never sees them)
    workflow_transitions: int = 0
    workflow_executions: int = 0
    cdn_requests: int = 0
    origin_fetches: int = 0  # renditions CloudFront fetches from S3 (immutable: once per rendition viewed)
    dynamodb_write_units: int = 0  # PutItem and UpdateItem, each billed by its own item sizes (WriteUnitMeter)
    stored_bytes: int = 0
    delivered_bytes: int = 0


def count(phase: Phase, service: str, operations: set[str] | None = None) -> int:
    return sum(n for op, n in phase.requests.get(service, {}).items() if operations is None or op in operations)


def billable_quantities(phase: Phase) -> dict[str, float]:
    """Each priced quantity (the price table's keys) this phase used, before scaling."""
    s3_classes: Counter[str] = Counter()
    for operation, n in phase.requests.get("s3", {}).items():
        s3_classes[s3_price_class(operation)] += n
    lambda_invocations = sum(use.invocations for use in phase.functions.values())
    gb_seconds = sum(use.billed_ms / 1000 * use.memory_mb / 1024 for use in phase.functions.values())
    log_bytes = sum(use.log_bytes for use in phase.functions.values()) + LAMBDA_PLATFORM_LOG_BYTES * lambda_invocations
    sqs_sent = count(phase, "sqs", {"SendMessage", "SendMessageBatch"}) + phase.s3_notifications
    # A transaction's items are not metered one by one: two units each (a transactional write of 1 KB), at least.
    transactions = count(phase, "dynamodb", {"TransactWriteItems"}) * 2
    return {
        "lambda_request": lambda_invocations,
        "lambda_arm_gb_second": gb_seconds,
        "sfn_standard_transition": phase.workflow_transitions,
        "s3_put_copy_post_list": s3_classes[S3_WRITE_OR_LIST],
        "s3_get_and_other": s3_classes[S3_READ] + phase.origin_fetches,
        "kms_request": count(phase, "kms"),
        "dynamodb_write_request_unit": phase.dynamodb_write_units + transactions,
        # One unit per read, an upper bound: every item here is below 4 KB, and an eventually consistent read is half.
        "dynamodb_read_request_unit": count(phase, "dynamodb", DYNAMODB_READS),
        "sqs_request": sqs_sent + 2 * phase.queue_batches,  # send, then one receive and one batch delete per batch
        "apigateway_rest_request": phase.api_requests,
        "eventbridge_custom_event": count(phase, "events", {"PutEvents"}),
        "cloudwatch_logs_ingested_gb": log_bytes / GB,
        "cloudfront_https_request": phase.cdn_requests,
    }


def express_quantities(phase: Phase) -> dict[str, float]:
    """The workflow under Express instead of Standard: one request per execution, and its duration at 64 MB: the
    steps' measured time, each execution rounded up to 100 ms (the emulator's own pace between states is not AWS's:
    the time Step Functions itself adds between states is left out)."""
    executions = phase.workflow_executions
    step_seconds = sum(use.billed_ms for use in phase.functions.values() if use.in_workflow) / 1000
    per_execution = step_seconds / executions if executions else 0.0
    billed = math.ceil(round(per_execution / EXPRESS_ROUNDING_SECONDS, 6)) * EXPRESS_ROUNDING_SECONDS
    return {"sfn_express_request": executions, "sfn_express_gb_second": executions * billed * EXPRESS_MEMORY_GB}


def kms_requests_without_bucket_keys(phase: Phase) -> int:
    """With S3 Bucket Keys (as deployed) S3 asks KMS for a bucket-level key now and then, not per object, so the
    emulator's KMS count is the bill. Without them every encrypted write is a GenerateDataKey and every read a
    Decrypt: this many more KMS requests."""
    return count(phase, "s3", {"PutObject", "CopyObject", "PostObject", "UploadPart", "GetObject"})


def storage_and_egress(phase: Phase) -> dict[str, float]:
    return {
        "s3_standard_storage_gb_month": phase.stored_bytes / GB,
        "cloudfront_egress_gb": phase.delivered_bytes / GB,
    }


@dataclass(frozen=True)
class Line:
    key: str
    quantity: float
    usd: float


def priced(quantities: Mapping[str, float], scale: float, prices: Mapping[str, Any]) -> list[Line]:
    """Each quantity times `scale`, priced from the table (`usd` per `per` units)."""
    lines = []
    for key, quantity in quantities.items():
        price = prices[key]
        scaled = quantity * scale
        lines.append(Line(key, scaled, scaled * price["usd"] / price["per"]))
    return lines


@dataclass
class Bill:
    processing: list[Line]  # per 1,000 uploads, Standard workflow
    delivery: list[Line]  # per 10,000 views
    express: list[Line]  # per 1,000 uploads: the Express alternative to the Standard transitions line
    storage_and_egress: list[Line]

    @property
    def processing_usd(self) -> float:
        return sum(line.usd for line in self.processing)

    @property
    def processing_express_usd(self) -> float:
        standard_workflow = sum(line.usd for line in self.processing if line.key == "sfn_standard_transition")
        return self.processing_usd - standard_workflow + sum(line.usd for line in self.express)

    @property
    def delivery_usd(self) -> float:
        return sum(line.usd for line in self.delivery)


def bill(uploads: Phase, views: Phase, prices: Mapping[str, Any]) -> Bill:
    """The bill for 1,000 uploads (from the uploads phase) and 10,000 views (from the views phase)."""
    per_upload, per_view = UPLOADS / uploads.images, VIEWS / views.images
    stored = storage_and_egress(uploads)
    delivered = storage_and_egress(views)
    return Bill(
        processing=priced(billable_quantities(uploads), per_upload, prices),
        delivery=priced(billable_quantities(views), per_view, prices),
        express=priced(express_quantities(uploads), per_upload, prices),
        storage_and_egress=priced(
            {"s3_standard_storage_gb_month": stored["s3_standard_storage_gb_month"]}, per_upload, prices
        )
        + priced({"cloudfront_egress_gb": delivered["cloudfront_egress_gb"]}, per_view, prices),
    )


# --- DynamoDB's write units, as DynamoDB bills each write ----------------------------------------------------------
@dataclass(frozen=True)
class ItemState:
    """What a write's bill depends on: the item's size and each global index's entry (key values, projected item)."""

    size: int
    entries: dict[str, tuple[str, str, int] | None]

    @classmethod
    def of(cls, table: Any, item: Any) -> ItemState:
        entries: dict[str, tuple[str, str, int] | None] = {}
        for index in table.global_indexes:
            if item is None or any(name not in item.attrs for name in index.schema_key_attrs):
                entries[index.name] = None  # an item without the index's keys is not in the index
                continue
            keys = json.dumps([item.attrs[name].to_json() for name in index.schema_key_attrs])
            projected = index.project(item).to_json()["Attributes"]
            entries[index.name] = (keys, json.dumps(projected, sort_keys=True), item_bytes(projected))
        return cls(item_bytes(item.to_json()["Attributes"]) if item is not None else 0, entries)


def write_units(before: ItemState, after: ItemState) -> int:
    """WRU of one write: the larger of the item before and after, per started KB; plus, per global index, one per
    entry written or deleted (an entry whose key changes is deleted and written anew: two; an unchanged one: none)."""
    units = max(1, math.ceil(max(before.size, after.size) / WRITE_UNIT_BYTES))
    for name, old in before.entries.items():
        new = after.entries[name]
        if old == new:
            continue
        written = [entry for entry in (old, new) if entry is not None]
        if old is not None and new is not None and old[0] == new[0]:
            written = [new]  # the same key: the entry is updated in place
        units += sum(max(1, math.ceil(entry[2] / WRITE_UNIT_BYTES)) for entry in written)
    return units


class WriteUnitMeter:
    """The write units of every PutItem and UpdateItem the in-process moto answers, from the items before and after
    (a refused conditional write is billed too: by the item as it is)."""

    def __init__(self) -> None:
        self.units = 0
        self._lock = threading.Lock()

    def _add(self, units: int) -> None:
        with self._lock:
            self.units += units

    def take(self) -> int:
        with self._lock:
            taken, self.units = self.units, 0
        return taken

    @contextmanager
    def metering(self) -> Iterator[None]:
        from moto.dynamodb.exceptions import ConditionalCheckFailed
        from moto.dynamodb.models import DynamoDBBackend

        real_put, real_update, real_delete = (
            DynamoDBBackend.put_item,
            DynamoDBBackend.update_item,
            DynamoDBBackend.delete_item,
        )

        def metered(
            real: Callable[..., Any], key_of: Callable[[Any, Any], dict[str, Any]], *, deletes: bool = False
        ) -> Callable[..., Any]:
            def write(backend: Any, table_name: str, first: Any, *args: Any, **kwargs: Any) -> Any:
                table = backend.get_table(table_name)
                hash_key, range_key = backend.get_keys_value(table, key_of(table, first))
                before = ItemState.of(table, table.get_item(hash_key, range_key))  # moto updates the item in place
                try:
                    written = real(backend, table_name, first, *args, **kwargs)
                except ConditionalCheckFailed:
                    self._add(write_units(before, before))
                    raise
                self._add(write_units(before, ItemState.of(table, None if deletes else written)))
                return written

            return write

        def key_of_item(table: Any, item: dict[str, Any]) -> dict[str, Any]:
            return {name: item[name] for name in (table.hash_key_attr, table.range_key_attr) if name}

        with (
            mock.patch.object(DynamoDBBackend, "put_item", metered(real_put, key_of_item)),
            mock.patch.object(DynamoDBBackend, "update_item", metered(real_update, lambda _, key: key)),
            mock.patch.object(DynamoDBBackend, "delete_item", metered(real_delete, lambda _, key: key, deletes=True)),
        ):
            yield


# --- running the batch -----------------------------------------------------------------------------------------
def photo(index: int, width: int = 4000, height: int = 3000) -> bytes:
    """A 12 MP JPEG with photo-like detail (noise and soft structure), different for every index."""
    noise = Image.effect_noise((width // 4, height // 4), 48 + index % 32).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    gradient = Image.linear_gradient("L").resize((width, height)).rotate(index * 37 % 360)
    image = Image.merge("RGB", (noise, gradient, noise.filter(ImageFilter.GaussianBlur(3))))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def processing_params(assignments: list[str]) -> dict[str, str]:
    """`name=value` pairs as processing's params; SystemExit naming a param processing's serverless.yml never reads
    (a typo would otherwise price the deployed configuration under another name)."""
    declared = (ROOT / "services" / "processing" / "serverless.yml").read_text()
    params = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals or not re.search(rf"\$\{{param:{re.escape(name)}[,}}]", declared):
            raise SystemExit(f"--param {assignment!r}: not NAME=VALUE for a param services/processing reads")
        params[name] = value
    return params


def platform_with(params: Mapping[str, str]) -> type[LocalPlatform]:
    """The local platform whose processing service is deployed with these params besides compose's."""

    class PlatformWithParams(LocalPlatform):
        def _local_params(self, service: str) -> dict[str, str]:
            return super()._local_params(service) | (dict(params) if service == "processing" else {})

    return PlatformWithParams


# The content type an upload declares for each format of the benchmark's photos.
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


def generated_photos(count: int) -> list[tuple[bytes, str]]:
    return [(photo(index), "image/jpeg") for index in range(count)]


def real_photos(count: int | None) -> list[tuple[bytes, str]]:
    """The benchmark's timing set (bench/photos.py, prepared on first use), cycled to `count` (all when None)."""
    from bench.photos import ensure_corpus

    corpus, _ = ensure_corpus()
    chosen = [corpus[index % len(corpus)] for index in range(len(corpus) if count is None else count)]
    return [(Path(each.path).read_bytes(), CONTENT_TYPES[each.format]) for each in chosen]


class Meter:
    """Times every handler invocation and the stdout bytes it writes (in-process invocations run one at a time)."""

    def __init__(self, platform: LocalPlatform, counts: RequestCounts, log_sink: TextIO) -> None:
        self.platform = platform
        self.counts = counts
        self.log_sink = log_sink
        self.functions: dict[str, FunctionUse] = {}
        self.queue_batches = 0
        self._real_runner = platform.runner
        platform.runner = self.run

    def run(self, spec: FunctionSpec, event: Any) -> Invocation:
        if self.counts.ignoring_this_thread():
            return self._real_runner(spec, event)
        with function_environment(spec):  # the same lock the runner takes: the clock starts when the handler does
            sys.stdout.flush()
            logged_before = os.fstat(self.log_sink.fileno()).st_size
            started = time.perf_counter()
            result = self._real_runner(spec, event)
            elapsed_ms = (time.perf_counter() - started) * 1000
            sys.stdout.flush()
            logged = os.fstat(self.log_sink.fileno()).st_size - logged_before
        in_workflow = threading.current_thread() is not threading.main_thread()
        use = self.functions.setdefault(spec.key, FunctionUse(memory_mb=spec.memory_mb, in_workflow=in_workflow))
        use.invocations += 1
        use.billed_ms += math.ceil(elapsed_ms)
        use.log_bytes += logged
        if isinstance(event, dict) and event.get("Records", [{}])[0].get("eventSource") == "aws:sqs":
            self.queue_batches += 1
        return result

    def take(self) -> tuple[dict[str, FunctionUse], int]:
        taken = (self.functions, self.queue_batches)
        self.functions, self.queue_batches = {}, 0
        return taken


class Api:
    def __init__(self, platform: LocalPlatform) -> None:
        self.platform = platform
        self.token = ""
        self.requests = 0

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        self.requests += 1
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        answer = self.platform.request(method, path, headers, json.dumps(body) if body is not None else None)
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else {}

    def sign_in(self, email: str) -> None:
        self.call("POST", "/auth/signup", {"email": email, "password": PASSWORD})
        self.call("POST", "/auth/verify", {"email": email, "code": "123456"})
        _, tokens = self.call("POST", "/auth/signin", {"email": email, "password": PASSWORD})
        assert "id_token" in tokens, tokens
        self.token = tokens["id_token"]


@contextmanager
def handler_logs_captured() -> Iterator[tuple[TextIO, TextIO]]:
    """fd 1 (where Powertools' loggers write) into a temporary file; yields (that file, the terminal)."""
    sys.stdout.flush()
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    with tempfile.TemporaryFile("w+") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield sink, terminal
        finally:
            sys.stdout.flush()
            os.dup2(terminal.fileno(), 1)
            terminal.close()


def workflow_usage(platform: LocalPlatform) -> tuple[int, int]:
    """(executions, states entered) of every workflow run so far, from the execution histories."""
    sfn = platform.client("stepfunctions")
    machine = platform.output("processing", "StateMachineArn")
    executions = sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"]
    transitions = 0
    for execution in executions:
        history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        transitions += sum(1 for event in history if event["type"].endswith("StateEntered"))
    return len(executions), transitions


def bucket_bytes(platform: LocalPlatform, bucket: str) -> int:
    pages = platform.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(item["Size"] for page in pages for item in page.get("Contents", []))


def attribute_bytes(value: Mapping[str, Any]) -> int:
    """An attribute value's size as DynamoDB bills it (strings and binaries by length, numbers ~1 byte per 2 digits,
    maps and lists 3 bytes plus their elements, names included)."""
    kind, content = next(iter(value.items()))
    if kind in {"S", "B"}:
        return len(content.encode() if isinstance(content, str) else content)
    if kind == "N":
        return len(content) // 2 + 1
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_bytes(element) for name, element in content.items())
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(element) for element in content)
    return sum(len(str(element).encode()) for element in content)  # the sets


def item_bytes(attributes: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB bills it: its attribute names and values."""
    return sum(len(name.encode()) + attribute_bytes(value) for name, value in attributes.items())


def wait_until_terminal(
    platform: LocalPlatform, api: Api, counts: RequestCounts, image_ids: list[str], timeout: float
) -> dict[str, str]:
    """Deliver the queue's messages until every image is terminal; the status polling itself is not measured."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        platform.deliver_queue_messages()
        with counts.ignored_in_this_thread():
            for image_id in image_ids:
                if statuses.get(image_id) not in TERMINAL:
                    _, record = api.call("GET", f"/image/{image_id}")
                    statuses[image_id] = record.get("status", "?")
        if all(status in TERMINAL for status in statuses.values()):
            return statuses
        time.sleep(0.2)
    raise SystemExit(f"not every image reached a terminal status in {timeout:.0f} s: {statuses}")


def measure(
    batch: list[tuple[bytes, str]],
    views_per_photo: int,
    say: Callable[[str], None],
    log_sink: TextIO,
    *,
    params: Mapping[str, str] | None = None,
    view_size: str = "medium",
) -> tuple[Phase, Phase]:
    counts = RequestCounts()
    write_units = WriteUnitMeter()
    with (
        counting_in_process(counts),
        write_units.metering(),
        deployed_in_process(platform_with(params or {})) as platform,
    ):
        photos = len(batch)
        say(f"deployed the platform into moto; {photos} photos, {views_per_photo} views each")
        meter = Meter(platform, counts, log_sink)
        api = Api(platform)
        api.sign_in("cost@example.com")
        meter.take()
        write_units.take()
        counts.reset()
        api.requests = 0

        image_ids = []
        for index, (data, content_type) in enumerate(batch):
            status, upload = api.call("POST", "/upload", {"content_type": content_type, "size": len(data)})
            assert status == 201, upload
            put = upload["put"]
            assert requests.put(put["url"], data=data, headers=put["headers"], timeout=60).ok
            image_ids.append(upload["image_id"])
            platform.deliver_queue_messages()  # as the queue's poller would, while the next photo uploads
            say(f"uploaded {index + 1}/{photos} ({len(data) // KB} KB)")
        upload_api_requests = api.requests  # the status polling that follows is the harness's, not a user's
        statuses = wait_until_terminal(platform, api, counts, image_ids, timeout=60 + 10 * photos)
        say(f"terminal: {dict(Counter(statuses.values()))}")
        uploads = phase_from(
            platform, counts=counts, meter=meter, images=photos, api_requests=upload_api_requests, uploaded=True
        )
        uploads.dynamodb_write_units = write_units.take()

        counts.reset()
        api.requests = 0
        delivered = 0
        for round_ in range(views_per_photo):
            for image_id in image_ids:
                status, rendition = api.call("GET", f"/image/{image_id}?size={view_size}")
                assert status == 200, rendition
                if round_ == 0:
                    delivered_answer = platform.request("GET", rendition["url"])
                    delivered += len(delivered_answer["body"])
            say(f"viewed round {round_ + 1}/{views_per_photo}")
        views = phase_from(
            platform, counts=counts, meter=meter, images=photos * views_per_photo, api_requests=api.requests
        )
        views.dynamodb_write_units = write_units.take()
        # One CDN request per view; CloudFront fetches each immutable rendition from S3 once, the first time: the
        # local CDN's own fetches (one per photo, above) become those origin fetches.
        s3_requests = views.requests.get("s3", {})
        s3_requests["GetObject"] = s3_requests.get("GetObject", 0) - photos
        views.cdn_requests = photos * views_per_photo
        views.origin_fetches = photos
        views.delivered_bytes = delivered * views_per_photo
        return uploads, views


def phase_from(
    platform: LocalPlatform,
    *,
    counts: RequestCounts,
    meter: Meter,
    images: int,
    api_requests: int,
    uploaded: bool = False,
) -> Phase:
    requests_by_service = counts.snapshot()
    for service, operation in LOCAL_ONLY:
        requests_by_service.get(service, {}).pop(operation, None)
    functions, queue_batches = meter.take()
    phase = Phase(images=images, requests=requests_by_service, functions=functions, api_requests=api_requests)
    phase.queue_batches = queue_batches
    if uploaded:
        phase.s3_notifications = images
        phase.workflow_executions, phase.workflow_transitions = workflow_usage(platform)
        phase.stored_bytes = bucket_bytes(platform, platform.output("upload", "OriginalsBucketName")) + bucket_bytes(
            platform, platform.output("processing", "RenditionsBucketName")
        )
    return phase


# --- the report ----------------------------------------------------------------------------------------------------
def table(lines: list[Line], prices: Mapping[str, Any]) -> list[str]:
    """A markdown table of the lines that cost something, dearest first."""
    rows = ["| item | quantity | unit | USD |", "|---|---:|---|---:|"]
    for line in sorted(lines, key=lambda line: -line.usd):
        if line.quantity:
            quantity = f"{line.quantity:,.0f}" if line.quantity >= 100 else f"{line.quantity:.4g}"
            rows.append(f"| {line.key} | {quantity} | {prices[line.key]['unit']} | {line.usd:.5f} |")
    return rows


def report(uploads: Phase, views: Phase, prices_file: Mapping[str, Any], command: str) -> str:
    prices = prices_file["prices"]
    result = bill(uploads, views, prices)
    gap = result.processing_usd - TARGET_USD_PER_1000_IMAGES
    verdict = "met" if gap <= 0 else f"NOT met: {gap:.4f} USD over"
    express_gap = result.processing_express_usd - TARGET_USD_PER_1000_IMAGES
    express_verdict = "met" if express_gap <= 0 else f"NOT met: {express_gap:.4f} USD over"
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {host.machine()} {host.system()}, "
        f"{cpus_of_this_process()} CPU(s) for this process; "
        f"prices {prices_file['region']} written {prices_file['written']}; `{command}`",
        "",
        f"Processing, per {UPLOADS:,} uploads (Standard workflow): {result.processing_usd:.4f} USD "
        f"(target {TARGET_USD_PER_1000_IMAGES} USD: {verdict})",
        *table(result.processing, prices),
        "",
        f"Same with an Express workflow: {result.processing_express_usd:.4f} USD ({express_verdict})",
        *table(result.express, prices),
        "",
        f"Delivery, per {VIEWS:,} views: {result.delivery_usd:.4f} USD",
        *table(result.delivery, prices),
        "",
        "Storage (per month kept) and egress, apart:",
        *table(result.storage_and_egress, prices),
        "",
        "Lambda, per function (uploads phase): invocations/image, mean billed ms, MB, log bytes/invocation",
        *function_rows(uploads),
        "Lambda, per function (views phase):",
        *function_rows(views),
        "",
        "Emulator requests per image (uploads phase): "
        + ", ".join(
            f"{service}.{operation} {n / uploads.images:.2f}"
            for service, operations in sorted(uploads.requests.items())
            for operation, n in sorted(operations.items())
        ),
        f"Without S3 Bucket Keys: {kms_requests_without_bucket_keys(uploads) / uploads.images:.1f} more KMS requests "
        f"per image processed, {kms_requests_without_bucket_keys(views) / views.images:.1f} per view.",
        f"Workflow: {uploads.workflow_transitions / uploads.images:.1f} states entered per image; "
        f"DynamoDB WRU per image (each write by its own item sizes): "
        f"{uploads.dynamodb_write_units / uploads.images:.1f}",
    ]
    return "\n".join(lines)


def function_rows(phase: Phase) -> list[str]:
    return [
        f"  {key}: {use.invocations / phase.images:.2f}, {use.billed_ms / max(1, use.invocations):.0f} ms, "
        f"{use.memory_mb} MB, {use.log_bytes / max(1, use.invocations):.0f} B"
        for key, use in sorted(phase.functions.items())
    ]


def cpus_of_this_process() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pin_to_one_cpu() -> None:
    """One CPU, as a Lambda at 1769 MB has (Linux only; elsewhere the durations are multi-core ones)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, help="how many uploads (default: 20 generated, or every real photo once)")
    parser.add_argument("--real-photos", action="store_true", help="the benchmark's real photos (bench/photos.py)")
    parser.add_argument("--views-per-photo", type=int, default=10)
    parser.add_argument("--prices", type=Path, default=PRICES)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a processing param to deploy with (repeatable), e.g. renditions=thumb:150,medium:800 or avifRenditions=",
    )
    parser.add_argument("--view-size", default="medium", help="the rendition each view asks for")
    options = parser.parse_args(argv)
    params = processing_params(options.param)
    prices_file = json.loads(options.prices.read_text())
    pin_to_one_cpu()
    # What the Lambda runtime sets (AWS_REGION) and what a laptop lacks (an X-Ray daemon).
    os.environ.update(
        {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    )
    command = "python bench/cost.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with ExitStack() as stack:
        sink, terminal = stack.enter_context(handler_logs_captured())

        def say(message: str) -> None:
            print(message, file=sys.stderr, flush=True)

        batch = real_photos(options.photos) if options.real_photos else generated_photos(options.photos or 20)
        uploads, views = measure(batch, options.views_per_photo, say, sink, params=params, view_size=options.view_size)
        print(report(uploads, views, prices_file, command.strip()), file=terminal)
    return 0


if __name__ == "__main__":
    sys.exit(main())

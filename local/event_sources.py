"""The event sources of the deployed functions: SQS event source mappings and EventBridge schedules.

Each has a one-shot form (one poll of every queue; the functions due on a schedule), which tests drive directly,
and a loop the local platform server runs in a thread until it stops.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from local.lambda_runtime import sqs_event
from local.lambdas import FunctionSpec

if TYPE_CHECKING:
    from local.platform import LocalPlatform

SECONDS_PER_UNIT = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


# --- EventBridge schedules -------------------------------------------------------------------------------------------
def schedules(functions: Iterable[FunctionSpec], every_seconds: int | None = None) -> list[tuple[FunctionSpec, int]]:
    """Functions with an enabled `schedule: rate(N unit)` event, and their period in seconds.

    `every_seconds` replaces every period (tests and demos: IMGPLAT_SCHEDULE_SECONDS), so a five-minute job can be
    seen working in seconds.
    """
    found = []
    for spec in functions:
        for event in spec.events:
            schedule = event.get("schedule")
            if not schedule:
                continue
            schedule = schedule if isinstance(schedule, dict) else {"rate": schedule}
            if str(schedule.get("enabled", True)).lower() == "false":
                continue
            # The framework prints `rate` as a list of expressions (it takes several); a hand-written one is a string.
            rates = schedule["rate"] if isinstance(schedule["rate"], list) else [schedule["rate"]]
            for rate in rates:
                match = re.fullmatch(r"rate\((\d+) (\w+)\)", str(rate))
                if match:
                    period = int(match.group(1)) * SECONDS_PER_UNIT[match.group(2)]
                    found.append((spec, every_seconds or period))
    return found


def scheduled_event(spec: FunctionSpec, region: str) -> dict[str, Any]:
    """The event EventBridge Scheduler-style rules send to a scheduled function."""
    account = spec.arn.split(":")[4]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{spec.name}"],
        "detail": {},
    }


def run_schedules(
    platform: LocalPlatform, stop: threading.Event, log: Callable[[str], None], every_seconds: int | None = None
) -> None:
    """EventBridge rules: invoke each scheduled function at its rate (first run one period after start)."""
    due = schedules(platform.functions.values(), every_seconds)
    next_run = {(spec.name, index): time.monotonic() + period for index, (spec, period) in enumerate(due)}
    while not stop.wait(1):
        for index, (spec, period) in enumerate(due):
            if time.monotonic() >= next_run[(spec.name, index)]:
                next_run[(spec.name, index)] = time.monotonic() + period
                result = platform.runner(spec, scheduled_event(spec, platform.region))
                log(f"{spec.name}: {'failed' if result.failed else 'ran'}")


# --- SQS event source mappings ---------------------------------------------------------------------------------------
def queue_consumers(functions: Iterable[FunctionSpec]) -> list[tuple[FunctionSpec, dict[str, Any]]]:
    """Functions with an `sqs` event, each with its event source settings (arn, batchSize...)."""
    consumers = []
    for spec in functions:
        for event in spec.events:
            if "sqs" in event:
                sqs = event["sqs"] if isinstance(event["sqs"], dict) else {"arn": event["sqs"]}
                consumers.append((spec, sqs))
    return consumers


def deliver_queue_messages(platform: LocalPlatform, wait_seconds: int = 0) -> int:
    """One poll of every SQS event source: deliver a batch, delete what the handler did not report as failed.

    `wait_seconds` > 0 long-polls, as Lambda's pollers do: a message is handed over as soon as it arrives.
    Returns how many messages were delivered.
    """
    sqs = platform.client("sqs")
    delivered = 0
    for spec, source in queue_consumers(platform.functions.values()):
        arn = str(source["arn"])
        url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(int(source.get("batchSize", 10)), 10),
            AttributeNames=["All"],
            WaitTimeSeconds=wait_seconds,
        ).get("Messages", [])
        if not messages:
            continue
        result = platform.runner(spec, sqs_event(messages, arn, platform.region))
        if result.failed:
            platform.log(f"{spec.name} failed on a batch of {len(messages)}: {result.payload}")
        failed = {item["itemIdentifier"] for item in (result.payload or {}).get("batchItemFailures", [])}
        if result.failed:
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        delivered += len(messages)
    return delivered


def poll_queues(platform: LocalPlatform, stop: threading.Event, log: Callable[[str], None]) -> None:
    """The SQS event source mappings: long-poll and deliver batches until stopped."""
    while not stop.is_set():
        try:
            delivered = deliver_queue_messages(platform, wait_seconds=1)
        except Exception as error:  # keep polling: one bad poll must not stop the pipeline
            log(f"poll failed: {error}")
            stop.wait(1)
            continue
        if delivered:
            log(f"delivered {delivered} message(s)")

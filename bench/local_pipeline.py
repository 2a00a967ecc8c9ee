"""Latency and throughput of the whole pipeline on the local platform (a benchmark, not a test).

    python bench/local_pipeline.py [--samples 12] [--clients 4] [--seconds 60] [--api-url URL --aws-url URL]

Upload -> READY latency (p50, p95) for a 12 MP JPEG, where the time goes (queue wait and each workflow step, from
the Step Functions execution history), then sustained images/minute with N concurrent clients for a fixed time,
checking that every upload reached a terminal status (none lost). Without --api-url it starts `python -m local`.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from local.emulator import client_factory
from local.launcher import running_platform

PASSWORD = "Correct-Horse-9-Battery"  # noqa: S105 - a local test account
TERMINAL = {"READY", "REJECTED", "FAILED"}


def photo_12mp() -> bytes:
    """A 4000x3000 JPEG with photo-like detail (noise and soft structure), about as heavy to decode as a photo."""
    noise = Image.effect_noise((1000, 750), 64).resize((4000, 3000), Image.Resampling.BICUBIC)
    gradient = Image.linear_gradient("L").resize((4000, 3000))
    image = Image.merge("RGB", (noise, gradient, noise.filter(ImageFilter.GaussianBlur(3))))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Client:
    def __init__(self, api: str, email: str) -> None:
        self.api = api
        self.session = requests.Session()
        self.session.post(f"{api}/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30)
        self.session.post(f"{api}/auth/verify", json={"email": email, "code": "123456"}, timeout=30)
        tokens = self.session.post(f"{api}/auth/signin", json={"email": email, "password": PASSWORD}, timeout=30)
        self.session.headers["Authorization"] = f"Bearer {tokens.json()['id_token']}"

    def upload(self, data: bytes) -> tuple[str, float]:
        """Reserve and upload one image; returns its id and the moment the upload finished."""
        # The PUT form is signed for an exact Content-Length, so it comes only when the size is declared.
        declared: dict[str, Any] = {"content_type": "image/jpeg", "size": len(data)}
        ticket = self.session.post(f"{self.api}/upload", json=declared, timeout=30).json()
        put = ticket["put"]
        answer = requests.put(put["url"], data=data, headers=put["headers"], timeout=60)
        answer.raise_for_status()
        return ticket["image_id"], time.monotonic()

    def wait(self, image_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.session.get(f"{self.api}/image/{image_id}", timeout=30).json()
            if record["status"] in TERMINAL:
                return dict(record)
            time.sleep(0.02)
        return {"status": "LOST", "image_id": image_id}


def step_times(aws_url: str, image_id: str, uploaded_wall: float) -> dict[str, float]:
    """Milliseconds per workflow state (and the wait before the run started), from the execution history."""
    sfn = client_factory(aws_url)("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    execution = next(
        e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"].startswith(image_id)
    )
    events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    times: dict[str, float] = {"queue + start": (execution["startDate"].timestamp() - uploaded_wall) * 1000}
    entered: dict[str, float] = {}
    for event in events:
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        if not details:
            continue
        name, moment = details["name"], event["timestamp"].timestamp()
        if event["type"].endswith("StateEntered"):
            entered[name] = moment
        elif name in entered:
            times[name] = (moment - entered[name]) * 1000
    return times


def latency(api: str, aws_url: str, samples: int, data: bytes) -> None:
    client = Client(api, "latency@example.com")
    client.wait(client.upload(data)[0])  # warm-up round, discarded
    totals, breakdown = [], defaultdict(list)
    for index in range(samples):
        image_id, uploaded = client.upload(data)
        uploaded_wall = time.time() - (time.monotonic() - uploaded)
        record = client.wait(image_id)
        totals.append(time.monotonic() - uploaded)
        assert record["status"] == "READY", record
        for step, ms in step_times(aws_url, image_id, uploaded_wall).items():
            breakdown[step].append(ms)
        print(f"  sample {index + 1}/{samples}: {totals[-1] * 1000:.0f} ms", flush=True)
    print(f"\nupload finished -> READY, {samples} x {len(data) / 1e6:.1f} MB 12 MP JPEG:")
    print(f"  p50 {statistics.median(totals) * 1000:.0f} ms   p95 {percentile(totals, 0.95) * 1000:.0f} ms")
    print("  where the time goes (median ms):")
    for step, values in breakdown.items():
        print(f"    {step:<16} {statistics.median(values):7.0f}")


def throughput(api: str, clients: int, seconds: float, data: bytes) -> None:
    stop_at = time.monotonic() + seconds
    started, finished, lost = [0], [0], []
    lock = threading.Lock()

    def work(number: int) -> None:
        client = Client(api, f"client{number}@example.com")
        while time.monotonic() < stop_at:
            image_id, _ = client.upload(data)
            with lock:
                started[0] += 1
            record = client.wait(image_id)
            with lock:
                if record["status"] == "READY":
                    finished[0] += 1
                else:
                    lost.append(record)

    begin = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, range(clients)))
    elapsed = time.monotonic() - begin
    print(f"\nsustained, {clients} concurrent clients for {seconds:.0f} s (12 MP JPEGs):")
    rate = finished[0] / elapsed * 60
    print(f"  {finished[0]} READY of {started[0]} uploaded in {elapsed:.0f} s = {rate:.0f} images/min")
    print(f"  lost or not READY: {len(lost)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--api-url")
    parser.add_argument("--aws-url")
    args = parser.parse_args()
    data = photo_12mp()
    with ExitStack() as stack:
        if args.api_url and args.aws_url:
            api, aws = args.api_url, args.aws_url
        else:
            print("starting the local platform ...", flush=True)
            log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "platform.log"
            platform = stack.enter_context(running_platform(log))
            api, aws = platform.api_url, platform.aws_url
        latency(api, aws, args.samples, data)
        throughput(api, args.clients, args.seconds, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

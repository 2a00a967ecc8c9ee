"""Run one image step of the workflow in this process, as its Lambda would, for the resource-limit tests.

    python step_probe.py <step> <workdir>

The step is the real function the handler calls (imgplat_processing.image_steps.validate, resize or watermark) with
the settings from the environment; only the store is replaced, by files under <workdir>/<bucket>/<key>, so nothing
but the step's own work counts. The workflow state travels in <workdir>/state.json between the steps, merged under
each step's ResultPath as the state machine does. Prints {"step", "seconds", "rejected", "peak_rss_kb"} as JSON,
the peak being this process's VmHWM (its own high-water mark since exec).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from imgplat_common.settings import load_settings
from imgplat_processing import image_steps, store
from imgplat_processing.rejections import ImageRejected
from imgplat_processing.settings import ProcessingSettings
from imgplat_processing.workflow_state import WorkflowState

RESULT_PATHS = {"validate": "validated", "resize": "resized", "watermark": "rendered"}


def install_file_store(root: Path) -> None:
    """The store's S3 functions on local files (the step's DynamoDB-free part is all that runs here)."""

    def path(bucket: str, key: str) -> Path:
        return root / bucket / key

    def object_size(bucket: str, key: str) -> int:
        return path(bucket, key).stat().st_size

    def read_object(bucket: str, key: str) -> bytes:
        return path(bucket, key).read_bytes()

    def write_object(bucket: str, key: str, body: bytes, **_: object) -> None:
        target = path(bucket, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)

    def delete_objects(bucket: str, keys: Iterable[str]) -> None:
        for key in keys:
            path(bucket, key).unlink(missing_ok=True)

    def delete_prefix(bucket: str, prefix: str) -> int:
        found = [str(file.relative_to(root / bucket)) for file in (root / bucket).rglob("*") if file.is_file()]
        matching = [key for key in found if key.startswith(prefix)]
        delete_objects(bucket, matching)
        return len(matching)

    def tag_object(bucket: str, key: str, tags: Mapping[str, str]) -> None:
        return None

    for function in (object_size, read_object, write_object, delete_objects, delete_prefix, tag_object):
        setattr(store, function.__name__, function)


def main(step: str, workdir: Path) -> None:
    install_file_store(workdir)
    state_file = workdir / "state.json"
    state = json.loads(state_file.read_text())
    settings = load_settings(ProcessingSettings)
    started = time.monotonic()
    rejected = None
    try:
        result = getattr(image_steps, step)(WorkflowState.model_validate(state), settings)
        state[RESULT_PATHS[step]] = result.model_dump(mode="json")
    except ImageRejected as rejection:
        rejected = rejection.code
    seconds = time.monotonic() - started
    state_file.write_text(json.dumps(state))
    peak_rss_kb = next(
        int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:")
    )
    print(json.dumps({"step": step, "seconds": seconds, "rejected": rejected, "peak_rss_kb": peak_rss_kb}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))

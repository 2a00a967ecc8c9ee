"""Run one image step of the workflow in this process, as its Lambda would, for the resource-limit tests.

    python step_probe.py <step> <workdir>

The step is the real function the handler calls (imgplat_processing.image_steps.validate, resize or watermark) with
the settings from the environment and a store of files under <workdir>/<bucket>/<key>, so nothing
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
from imgplat_processing import image_steps
from imgplat_processing.rejections import ImageRejected
from imgplat_processing.settings import ProcessingSettings
from imgplat_processing.workflow_state import WorkflowState

RESULT_PATHS = {"validate": "validated", "resize": "resized", "watermark": "rendered"}


class FileStore:
    """The steps' object store (ports.ObjectStore) on local files: a step's DynamoDB-free part is all that runs here."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def object_size(self, bucket: str, key: str) -> int:
        return self._path(bucket, key).stat().st_size

    def read_object(self, bucket: str, key: str) -> bytes:
        return self._path(bucket, key).read_bytes()

    def write_object(self, bucket: str, key: str, body: bytes, **_: object) -> None:
        target = self._path(bucket, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(bucket, key).unlink(missing_ok=True)

    def delete_object(self, bucket: str, key: str) -> None:
        self.delete_objects(bucket, [key])

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        found = [
            str(file.relative_to(self.root / bucket)) for file in (self.root / bucket).rglob("*") if file.is_file()
        ]
        matching = [key for key in found if key.startswith(prefix)]
        self.delete_objects(bucket, matching)
        return len(matching)

    def tag_object(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        return None


def main(step: str, workdir: Path) -> None:
    store = FileStore(workdir)
    state_file = workdir / "state.json"
    state = json.loads(state_file.read_text())
    settings = load_settings(ProcessingSettings)
    started = time.monotonic()
    rejected = None
    try:
        result = getattr(image_steps, step)(WorkflowState.model_validate(state), settings, store)
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

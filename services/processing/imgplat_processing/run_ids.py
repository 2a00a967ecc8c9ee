"""Workflow run names: one per object version, so the orchestrator and the reconciler start the same run for it.

Apart from orchestration.py, whose SQS batch utilities the reconciler has no use for at cold start.
"""

from __future__ import annotations

import hashlib

RUN_ID_HASH_LENGTH = 16


def run_id_for(image_id: str, bucket: str, key: str, version: str) -> str:
    """The execution name of the run for one version of an object: the same event twice gives the same name.

    At most 49 characters of [0-9a-f-], well inside Step Functions' 80-character name limit.
    """
    digest = hashlib.sha256(f"{bucket}/{key}@{version}".encode()).hexdigest()
    return f"{image_id}-{digest[:RUN_ID_HASH_LENGTH]}"

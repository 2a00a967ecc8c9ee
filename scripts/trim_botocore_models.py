"""Write the trimmed botocore service models that the functions' clients load (imgplat_common/botocore_models.py).

    python scripts/trim_botocore_models.py    # after changing the pinned boto3, or a service's first client of a
                                              # new AWS service; tests/test_botocore_models.py says when

One file per service the platform's code makes clients of (SERVICES): botocore's latest model of it, from the
installed (pinned) botocore, with every documentation text emptied.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import botocore.loaders

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "libs" / "common" / "src"))  # also where imgplat_common is not installed

from imgplat_common.botocore_models import DATA_DIR as TRIMMED_MODELS_DIR  # noqa: E402 - after the path is set

DATA_DIR = Path(TRIMMED_MODELS_DIR)

# The services of every boto3.client(...) in services/*/imgplat_* (tests/test_botocore_models.py keeps this in step).
SERVICES = ("cognito-idp", "dynamodb", "events", "s3", "ssm", "stepfunctions")
# Text for people: botocore only puts it in docstrings. The fields stay, empty: some botocore code reads a field
# rather than asking for it (`param['documentation']` of a client context parameter), and the Lambda runtime's
# botocore, which reads these files, may be older or newer than the pinned one.
DOCUMENTATION_FIELDS = frozenset({"documentation", "documentationUrl"})


def without_documentation(node: Any) -> Any:
    """The model with every documentation text emptied, at any depth; everything else as it was, in its order."""
    if isinstance(node, dict):
        return {
            key: "" if key in DOCUMENTATION_FIELDS and isinstance(value, str) else without_documentation(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [without_documentation(value) for value in node]
    return node


def trimmed_models() -> dict[str, bytes]:
    """`<service>/<api version>/service-2.json` -> its trimmed model as compact JSON, for every service."""
    # botocore's own data only: never a model in ~/.aws/models or on an AWS_DATA_PATH of this shell.
    loader = botocore.loaders.Loader(
        extra_search_paths=[botocore.loaders.Loader.BUILTIN_DATA_PATH], include_default_search_paths=False
    )
    models = {}
    for service in SERVICES:
        version = loader.determine_latest_version(service, "service-2")
        model = loader.load_data(f"{service}/{version}/service-2")
        text = json.dumps(without_documentation(model), separators=(",", ":"), ensure_ascii=False) + "\n"
        models[f"{service}/{version}/service-2.json"] = text.encode()
    return models


def main() -> int:
    if DATA_DIR.exists():
        shutil.rmtree(DATA_DIR)
    for name, content in trimmed_models().items():
        path = DATA_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(f"{path.relative_to(ROOT)}: {len(content) / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

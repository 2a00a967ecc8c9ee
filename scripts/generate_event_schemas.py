"""Generate docs/events/<DetailType>.schema.json, the JSON Schema of each event on the platform's bus, from the
models that build them (imgplat_common.image_events).

    python scripts/generate_event_schemas.py           # (re)write docs/events/*.schema.json
    python scripts/generate_event_schemas.py --check   # exit 1 if a committed file differs from the models

Each schema describes the event as a consumer receives it (EventBridge's envelope around the platform's `detail`),
so a consumer can validate what its queue or function gets. tests/test_event_schemas.py fails when a file drifts
from the models, and checks what the publishers emit against the files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from imgplat_common.image_events import IMAGE_EVENTS, SCHEMA_VERSION, ImageEvent

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "docs" / "events"


def schema_path(event: type[ImageEvent]) -> Path:
    return SCHEMA_DIR / f"{event.detail_type}.schema.json"


def build_schema(event: type[ImageEvent]) -> dict[str, Any]:
    """The envelope EventBridge delivers (only the fields a consumer relies on are required) around the detail."""
    detail = event.model_json_schema(mode="serialization")
    definitions = detail.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:imgplat:event:{event.detail_type}:v{SCHEMA_VERSION}",
        "title": event.detail_type,
        "description": f"{(event.__doc__ or '').strip()} (schema_version {SCHEMA_VERSION})",
        "type": "object",
        "required": ["id", "source", "detail-type", "time", "detail"],
        "properties": {
            "id": {"type": "string", "description": "EventBridge's id: differs on each publish; use detail.event_id"},
            "source": {"const": event.source},
            "detail-type": {"const": event.detail_type},
            "time": {"type": "string"},
            "account": {"type": "string"},
            "region": {"type": "string"},
            "detail": detail,
        },
        **({"$defs": definitions} if definitions else {}),
    }


def schema_text(event: type[ImageEvent]) -> str:
    return json.dumps(build_schema(event), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when a committed schema differs from the models")
    arguments = parser.parse_args()
    stale = []
    for event in IMAGE_EVENTS:
        path, text = schema_path(event), schema_text(event)
        if arguments.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date (run python scripts/generate_event_schemas.py): {', '.join(map(str, stale))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

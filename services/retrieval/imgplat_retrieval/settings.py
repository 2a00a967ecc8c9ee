"""What the retrieval functions read from their environment (serverless.yml sets it)."""

from __future__ import annotations

from imgplat_common.settings import PlatformSettings


class RetrievalSettings(PlatformSettings):
    """Field `images_table` reads env IMAGES_TABLE, and so on."""

    images_table: str
    originals_bucket: str
    renditions_bucket: str
    event_bus_name: str  # the platform's bus (processing's EventBus): DELETE publishes ImageDeleted there
    # Long enough to start a download, short enough that a leaked link soon stops working.
    url_expires_seconds: int = 300

"""What the retrieval functions read from their environment (serverless.yml sets it)."""

from __future__ import annotations

from typing import Self

from imgplat_common.settings import PlatformSettings
from pydantic import model_validator

SECONDS_PER_HOUR = 3600


class RetrievalSettings(PlatformSettings):
    """Field `images_table` reads env IMAGES_TABLE, and so on.

    Renditions are served one of two ways: S3 pre-signed URLs (the default), or CloudFront signed URLs when the
    delivery service is deployed and compose passes its three outputs (CDN_BASE_URL, CDN_KEY_PAIR_ID,
    CDN_PRIVATE_KEY_PARAMETER): all three or none.
    """

    images_table: str
    originals_bucket: str
    renditions_bucket: str
    # S3 mode: long enough to start a download, short enough that a leaked link soon stops working.
    url_expires_seconds: int = 300
    # CloudFront mode: where renditions are served ("https://d111.cloudfront.net" or a custom domain), the id of
    # the key group's public key, and the SSM SecureString parameter holding the matching private key (PEM).
    cdn_base_url: str | None = None
    cdn_key_pair_id: str | None = None
    cdn_private_key_parameter: str | None = None
    # A CloudFront URL expires at the end of its window plus a minimum lifetime, so every request for one rendition
    # within a window gets the same URL, which the browser has cached: an hour of cache hits for a link that stays
    # usable at least a quarter of an hour and at most an hour and a quarter.
    cdn_url_window_seconds: int = SECONDS_PER_HOUR
    cdn_url_min_lifetime_seconds: int = SECONDS_PER_HOUR // 4

    @model_validator(mode="after")
    def _cdn_settings_come_together(self) -> Self:
        cdn = [self.cdn_base_url, self.cdn_key_pair_id, self.cdn_private_key_parameter]
        if any(cdn) and not all(cdn):
            raise ValueError("CDN_BASE_URL, CDN_KEY_PAIR_ID and CDN_PRIVATE_KEY_PARAMETER come together or not at all")
        if self.cdn_private_key_parameter and not self.cdn_private_key_parameter.startswith("/"):
            raise ValueError("CDN_PRIVATE_KEY_PARAMETER is an SSM parameter name starting with '/'")
        if self.cdn_url_window_seconds < 1 or self.cdn_url_min_lifetime_seconds < 1 or self.url_expires_seconds < 1:
            raise ValueError("URL lifetimes and windows are positive numbers of seconds")
        return self

    @property
    def delivers_through_cdn(self) -> bool:
        return self.cdn_base_url is not None

"""`make dev`'s emulator answers its request counts: what bench/cost.py prices, readable (and resettable) live."""

from __future__ import annotations

import pytest
import requests

from local.request_counts import REQUEST_COUNTS_PATH

pytestmark = pytest.mark.e2e


def test_the_running_emulator_serves_its_request_counts_and_resets_them(local_platform):
    url = local_platform.aws_url + REQUEST_COUNTS_PATH
    # Given a deployed platform: provisioning created its tables and buckets through the emulator
    counts = requests.get(url, timeout=10).json()
    assert counts["dynamodb"]["CreateTable"] >= 1
    assert counts["s3"]["PutBucket"] >= 1
    # When the counts are reset, then what provisioning did is gone (the queue pollers keep counting)
    after_reset = requests.delete(url, timeout=10).json()
    assert "CreateTable" not in after_reset.get("dynamodb", {})
    assert "CreateTable" not in requests.get(url, timeout=10).json().get("dynamodb", {})

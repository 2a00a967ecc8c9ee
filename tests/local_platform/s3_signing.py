"""Signing for the local S3 as its clients sign, at a moment a test chooses (the verifying front's tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config

from local.emulator import LOCAL_CREDENTIALS, REGION


@contextmanager
def signing_at(moment: datetime) -> Iterator[None]:
    """botocore signs (URLs, headers, POST policies and their expiration) as if it were `moment`."""
    frozen = moment.astimezone(UTC).replace(tzinfo=None)  # botocore's clock is naive UTC
    with (
        mock.patch("botocore.auth.get_current_datetime", return_value=frozen),
        mock.patch("botocore.signers.get_current_datetime", return_value=frozen),
    ):
        yield


def s3_signer(endpoint: str, access_key: str = LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]) -> Any:
    """An S3 client of `endpoint` signing SigV4 with the local secret under `access_key` (signing needs no server)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(signature_version="s3v4"),
    )

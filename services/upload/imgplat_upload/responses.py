"""The JSON body POST /upload answers with: what start_upload returns, the handler sends and the OpenAPI reads."""

from __future__ import annotations

from typing import Literal

from imgplat_common.status import ImageStatus
from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    # Every field is in every answer, defaults too: the OpenAPI schema says so (required).
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class PresignedPostForm(_Answer):
    """POST multipart/form-data to `url` with every field of `fields` first, then the file as `file`."""

    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str]


class PresignedPut(_Answer):
    """PUT the bytes to `url` with exactly these headers (Content-Length and Content-Type included: all are signed)."""

    method: Literal["PUT"] = "PUT"
    url: str
    headers: dict[str, str]


class UploadTicket(_Answer):
    """Everything a client needs to upload one image and follow its progress."""

    image_id: str
    status: Literal[ImageStatus.PENDING] = ImageStatus.PENDING
    expires_in: int = Field(description="Seconds the upload forms stay valid.")
    max_bytes: int
    upload: PresignedPostForm
    put: PresignedPut | None = Field(
        description="The PUT URL, only when the request declared `size`: a PUT is signed for that exact"
        " Content-Length. Null otherwise; use the POST form."
    )
    status_url: str = Field(description="Where to follow the image's progress: GET it with the ID token.")

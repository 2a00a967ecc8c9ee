"""Start an upload: check what the client declares, record a PENDING image, and sign where its bytes may go.

The client never chooses the object key: the platform issues the image id and the key is built from it and the
caller's sub. The signed POST policy pins the key, the content type, the size (exact when declared, else the range)
and the encryption key; the PUT URL signs the exact Content-Length and Content-Type and the same encryption headers,
so S3 itself refuses anything else. Both make the original arrive tagged `unclaimed` (imgplat_common.original_tags)
for the lifecycle backstop, and processing checks the declared type and size again against what arrived.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from xml.sax.saxutils import escape

from imgplat_common.display_text import displayable
from imgplat_common.errors import Conflict, PayloadTooLarge, UnsupportedMediaType
from imgplat_common.keys import new_image_id
from imgplat_common.models import ImageRecord, utc_now_iso
from imgplat_common.original_tags import UNCLAIMED_ORIGINAL_TAGS
from pydantic import BaseModel, ConfigDict, Field, field_validator

from imgplat_upload.responses import PresignedPostForm, PresignedPut, UploadTicket
from imgplat_upload.settings import UploadSettings

SSE_ALGORITHM = "aws:kms"
SSE_HEADER = "x-amz-server-side-encryption"
SSE_KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"
TAGGING_HEADER = "x-amz-tagging"  # a PUT's tags, URL-encoded (S3 applies them with the object)
TAGGING_FIELD = "tagging"  # a POST form's tags, as S3's Tagging XML


def _content_types_description() -> str:
    """The accepted types as the settings' defaults declare them (this text goes into docs/openapi.yaml)."""
    fields = UploadSettings.model_fields
    allowed = ", ".join(fields["allowed_content_types"].default)
    aliases = ", ".join(
        f"{alias} for {name}"
        for alias, name in fields["content_type_aliases"].get_default(call_default_factory=True).items()
    )
    return f"The file's type, one of: {allowed} (also {aliases}). The format is then read from the file's own bytes."


class UploadRequest(BaseModel):
    """What a client declares about the file it is about to upload (body of POST /upload)."""

    # An unknown field is a client's mistake (a misspelt "size" would silently upload unbound): refused, as /auth does.
    model_config = ConfigDict(extra="forbid")

    content_type: str = Field(
        min_length=1,
        max_length=255,
        description=_content_types_description(),
        examples=["image/jpeg", "image/heic"],
    )
    filename: str | None = Field(default=None, max_length=255)  # metadata only, never part of a key
    size: int | None = Field(
        default=None,
        gt=0,
        strict=True,
        description="The file's exact size in bytes. Required for the PUT URL (a PUT is signed for this exact"
        " Content-Length); without it the answer's `put` is null and only the POST form (any size up to max_bytes)"
        " is offered.",
    )

    @field_validator("filename")
    @classmethod
    def _printable_filename(cls, filename: str | None) -> str | None:
        # Shown back by every client (a terminal, a page): a name can neither drive a terminal nor spoof its
        # extension (U+202E). Nothing left: no name.
        return displayable(filename) if filename is not None else None


class ImageAlreadyExists(Exception):
    """A record with this owner and image id is already stored."""


class ImageRecords(Protocol):
    """Where image records are stored."""

    def create(self, record: ImageRecord) -> None:
        """Store a new record; ImageAlreadyExists when the owner and id are taken."""
        ...


@dataclass(frozen=True)
class PresignedPost:
    """A browser form upload: POST multipart/form-data to `url` with `fields` first, then the file."""

    url: str
    fields: dict[str, str]


class UploadSigner(Protocol):
    """Signs uploads into the originals bucket (no network call: signing is local)."""

    def presign_post(self, key: str, fields: dict[str, str], conditions: list[Any], expires_in: int) -> PresignedPost:
        """A POST form for `key` whose policy holds `conditions` (plus the bucket and the exact key)."""
        ...

    def presign_put(self, key: str, headers: PutHeaders, expires_in: int) -> str:
        """A PUT URL for `key` whose signature covers every header of `headers`."""
        ...


@dataclass(frozen=True)
class PutHeaders:
    """What a pre-signed PUT binds: the client must send exactly these headers, or S3 refuses the signature."""

    content_type: str
    content_length: int
    kms_key_arn: str
    tagging: str

    def as_http(self) -> dict[str, str]:
        """The headers by their HTTP names, as the client sends them."""
        return {
            "Content-Length": str(self.content_length),
            "Content-Type": self.content_type,
            SSE_HEADER: SSE_ALGORITHM,
            SSE_KEY_HEADER: self.kms_key_arn,
            TAGGING_HEADER: self.tagging,
        }


def tagging_header(tags: dict[str, str]) -> str:
    """Tags as the x-amz-tagging header carries them (a URL query string)."""
    return urllib.parse.urlencode(tags)


def tagging_xml(tags: dict[str, str]) -> str:
    """Tags as a POST form's `tagging` field carries them (S3's Tagging document)."""
    tag_set = "".join(
        f"<Tag><Key>{escape(name)}</Key><Value>{escape(value)}</Value></Tag>" for name, value in tags.items()
    )
    return f"<Tagging><TagSet>{tag_set}</TagSet></Tagging>"


def canonical_content_type(declared: str, settings: UploadSettings) -> str:
    """The allowed content type the client declared, in its canonical spelling; UnsupportedMediaType otherwise."""
    normalized = declared.strip().lower()
    canonical = settings.content_type_aliases.get(normalized, normalized)
    if canonical not in settings.allowed_content_types:
        allowed = list(settings.allowed_content_types)
        raise UnsupportedMediaType(
            f"Images must be one of: {', '.join(allowed)}.",
            details={"allowed": allowed},
        )
    return canonical


def check_declared_size(size: int | None, settings: UploadSettings) -> None:
    """Refuse a declared size above the limit before anything is signed (S3 enforces it again on POST)."""
    if size is not None and size > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"Images may be at most {settings.max_upload_bytes} bytes.",
            code="too_large",
            details={"max_bytes": settings.max_upload_bytes},
        )


def post_policy(content_type: str, size: int | None, settings: UploadSettings) -> tuple[dict[str, str], list[Any]]:
    """The form fields and policy conditions of a pre-signed POST (the signer adds the bucket and the exact key).

    A declared size is pinned exactly, so the client cannot declare a small file and send a large one. The original
    arrives tagged unclaimed (the lifecycle backstop for an original that no record ever owns).
    """
    fields = {
        "Content-Type": content_type,
        SSE_HEADER: SSE_ALGORITHM,
        SSE_KEY_HEADER: settings.kms_key_arn,
        TAGGING_FIELD: tagging_xml(UNCLAIMED_ORIGINAL_TAGS),
    }
    smallest, largest = (size, size) if size is not None else (1, settings.max_upload_bytes)
    conditions: list[Any] = [
        {"Content-Type": content_type},
        ["content-length-range", smallest, largest],
        {SSE_HEADER: SSE_ALGORITHM},
        {SSE_KEY_HEADER: settings.kms_key_arn},
        {TAGGING_FIELD: fields[TAGGING_FIELD]},
    ]
    return fields, conditions


def put_headers(content_type: str, size: int | None, settings: UploadSettings) -> PutHeaders | None:
    """What a pre-signed PUT binds; None without a declared size (a PUT can only be bound to an exact length)."""
    if size is None:
        return None
    return PutHeaders(
        content_type=content_type,
        content_length=size,
        kms_key_arn=settings.kms_key_arn,
        tagging=tagging_header(UNCLAIMED_ORIGINAL_TAGS),
    )


def start_upload(
    request: UploadRequest,
    owner: str,
    settings: UploadSettings,
    records: ImageRecords,
    signer: UploadSigner,
    *,
    issue_image_id: Callable[[], str] = new_image_id,
    now: Callable[[], str] = utc_now_iso,
) -> UploadTicket:
    """Record a PENDING image for `owner` and sign the ways to upload its original.

    Raises UnsupportedMediaType (415) or PayloadTooLarge (413) for what the client declared, and Conflict (409) in
    the (astronomically unlikely) case that the issued id is already taken.
    """
    content_type = canonical_content_type(request.content_type, settings)
    check_declared_size(request.size, settings)

    image_id = issue_image_id()
    record = ImageRecord.pending(
        owner, image_id, content_type, now(), filename=request.filename, declared_size=request.size
    )
    key = record.original_key
    try:
        records.create(record)
    except ImageAlreadyExists as error:
        raise Conflict("Could not reserve an image id; please try again.") from error

    expires_in = settings.upload_url_expires_seconds
    fields, conditions = post_policy(content_type, request.size, settings)
    post = signer.presign_post(key, fields, conditions, expires_in)
    bound = put_headers(content_type, request.size, settings)
    put = (
        None if bound is None else PresignedPut(url=signer.presign_put(key, bound, expires_in), headers=bound.as_http())
    )
    return UploadTicket(
        image_id=image_id,
        expires_in=expires_in,
        max_bytes=settings.max_upload_bytes,
        upload=PresignedPostForm(url=post.url, fields=post.fields),
        put=put,
        status_url=f"/image/{image_id}",
    )

"""What a user may upload is said in five places (upload's accepted types, processing's allowlist, the CLI's
sniffing, the web picker, the docs): they must agree, or a photo is refused by one and promised by another."""

from __future__ import annotations

import re

import image_factory as factory
from imgplat_cli.file_types import FTYP_BRANDS, PREFIX_SIGNATURES
from imgplat_processing.images.validate import (
    DISPLAY_NAMES,
    MIME_TYPES,
    ValidationLimits,
    fits_declared_type,
    mime_type_of,
)
from imgplat_upload.settings import UploadSettings

from local.serverless_files import ROOT

UPLOAD_DEFAULTS = UploadSettings.model_fields
ACCEPTED_TYPES = set(UPLOAD_DEFAULTS["allowed_content_types"].default)
ALIASES = UPLOAD_DEFAULTS["content_type_aliases"].get_default(call_default_factory=True)
PROCESSED_FORMATS = ValidationLimits.__dataclass_fields__["allowed_formats"].default


def test_upload_accepts_exactly_the_types_processing_reads():
    read = {MIME_TYPES[name] for name in PROCESSED_FORMATS} | {
        mime_type_of(factory.heic(factory.solid((8, 8))), "HEIF")
    }

    assert read == ACCEPTED_TYPES


def test_each_type_upload_accepts_fits_exactly_its_own_format_when_processing_compares_them():
    # What processing reads from the bytes must match what the record declares: one format per accepted type, and
    # both HEIF names (a phone's HEIC and a generic HEIF) fit the one HEIF family the validator reads.
    fitting = {
        declared: {name for name in PROCESSED_FORMATS if fits_declared_type(declared, name)}
        for declared in ACCEPTED_TYPES
    }

    assert all(len(formats) == 1 for formats in fitting.values()), fitting
    assert fitting["image/heic"] == fitting["image/heif"] == {"HEIF"}
    assert {declared for declared, formats in fitting.items() if formats == {"JPEG"}} == {"image/jpeg"}


def test_every_type_the_cli_sends_is_accepted_by_upload():
    sent = {content_type for _, content_type in PREFIX_SIGNATURES} | set(FTYP_BRANDS.values()) | {"image/webp"}

    assert {ALIASES.get(content_type, content_type) for content_type in sent} <= ACCEPTED_TYPES


def test_the_readme_and_the_security_doc_name_every_format_processing_reads():
    readme_limits = (ROOT / "README.md").read_text().split("## Limits", 1)[1].split("\n## ", 1)[0]
    security = (ROOT / "docs" / "security.md").read_text()
    formats_row = next(line for line in security.splitlines() if line.startswith("| formats |"))

    for name in PROCESSED_FORMATS:
        shown = DISPLAY_NAMES.get(name, name)
        assert shown in readme_limits, f"README's limits do not name {shown}"
        assert shown in formats_row, f"docs/security.md's formats row does not name {shown}"


def test_the_web_picker_offers_the_phone_formats_by_extension_and_type():
    accept = re.search(r'id="file-input"[^>]*accept="([^"]+)"', (ROOT / "web" / "index.html").read_text())
    assert accept is not None
    offered = set(accept.group(1).split(","))

    assert {".heic", ".heif", ".avif", "image/heic", "image/heif", "image/avif", "image/*"} <= offered

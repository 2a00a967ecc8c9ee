"""What validation learned about an accepted image, in a module without Pillow: the workflow's state contract
(workflow_state.ValidatedOriginal) extends it, and the bookkeeping steps must not load Pillow to read it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ValidatedImage(BaseModel):
    """Width and height are as displayed (EXIF orientation applied)."""

    model_config = ConfigDict(frozen=True)

    format: str
    mime_type: str
    width: int
    height: int
    frames: int
    mode: str
    bytes: int
    sha256: str

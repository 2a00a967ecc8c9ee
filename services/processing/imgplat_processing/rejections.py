"""ImageRejected: the one error a user reads. Kept apart from the image modules (which load Pillow) so that the steps
that only report a rejection (MarkRejected) import no image code."""

from __future__ import annotations


class ImageRejected(Exception):
    """The upload is not an image we accept: `code` is for machines, `reason` is one sentence for the user."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self) -> tuple[type[ImageRejected], tuple[str, str]]:
        # Keeps code and reason when the error is copied or pickled (for example across processes).
        return (type(self), (self.code, self.reason))

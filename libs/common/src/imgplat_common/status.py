"""The image lifecycle and the only transitions a record may make."""

from __future__ import annotations

from enum import StrEnum


class ImageStatus(StrEnum):
    PENDING = "PENDING"  # record created, waiting for the original to arrive
    PROCESSING = "PROCESSING"  # a workflow run has claimed the image
    READY = "READY"  # renditions exist and may be served
    REJECTED = "REJECTED"  # the input is not an acceptable image (user error, reason given)
    FAILED = "FAILED"  # the platform failed (internal error, error id given)

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({ImageStatus.READY, ImageStatus.REJECTED, ImageStatus.FAILED})

# Statuses only move forward: a late or duplicate event can never send a READY image back to PROCESSING.
ALLOWED_TRANSITIONS: dict[ImageStatus, frozenset[ImageStatus]] = {
    ImageStatus.PENDING: frozenset({ImageStatus.PROCESSING, ImageStatus.REJECTED, ImageStatus.FAILED}),
    ImageStatus.PROCESSING: frozenset({ImageStatus.READY, ImageStatus.REJECTED, ImageStatus.FAILED}),
    ImageStatus.READY: frozenset(),
    ImageStatus.REJECTED: frozenset(),
    ImageStatus.FAILED: frozenset(),
}


def can_transition(current: ImageStatus, target: ImageStatus) -> bool:
    """True when a record in `current` may move to `target`."""
    return target in ALLOWED_TRANSITIONS[current]


def statuses_allowed_before(target: ImageStatus) -> list[ImageStatus]:
    """The statuses from which `target` may be reached (used to build DynamoDB conditions)."""
    return [status for status, targets in ALLOWED_TRANSITIONS.items() if target in targets]

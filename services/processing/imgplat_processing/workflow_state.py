"""The workflow's state contract (statemachine.asl.yaml): its input, the ProcessingRequest, and what each step adds.

Each step gets the workflow state (the request plus what earlier steps added under their ResultPath) and returns its
own small result. Steps pass object keys to each other, never image bytes. The request is built in one place,
ProcessingRequest.for_object, for the orchestrator and the reconciler alike, so both name an upload's run the same.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from imgplat_common.keys import parse_original_key
from imgplat_common.models import ExifSummary, Rendition
from imgplat_common.observability import logger
from imgplat_common.status import ImageStatus
from pydantic import BaseModel, ConfigDict, Field

from imgplat_processing.images.validated_image import ValidatedImage
from imgplat_processing.rejections import ImageRejected

DEFAULT_REJECTION = ("rejected", "The file is not an image we can process.")
RUN_ID_HASH_LENGTH = 16
EXECUTION_TOKEN_BYTES = 8  # 16 hex characters: an execution id stays inside a work prefix's 80 characters


class ProcessingRequest(BaseModel):
    """Input of the processing state machine: where the original is, never its bytes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    bucket: str
    key: str
    owner: str
    image_id: str
    size: int
    etag: str | None = None
    version_id: str | None = None
    run_id: str  # the execution name, deterministic per object version
    # Fresh for every execution started (execution_input): an Express workflow starts a second execution of the
    # same run (a duplicate or late event), and only this token tells the two apart at Claim. None in an execution
    # started before tokens existed: it owns the record by its run id alone.
    execution_token: str | None = None

    @classmethod
    def for_object(
        cls, bucket: str, key: str, *, size: int, version_id: str | None, etag: str | None
    ) -> ProcessingRequest:
        """The request to process one version of an original: InvalidKeyError when the platform did not make `key`.

        The only way the orchestrator and the reconciler build a request, so an upload's run has one name whoever
        starts it: the same object version always gives the same run id, and Step Functions starts a name only once.
        """
        original = parse_original_key(key)
        return cls(
            bucket=bucket,
            key=key,
            owner=original.owner,
            image_id=original.image_id,
            size=size,
            etag=etag,
            version_id=version_id,
            run_id=run_id_for(original.image_id, bucket, key, version_id or etag or ""),
        )

    def execution_input(self) -> str:
        """The input of a new execution of this run: the request with an execution token nobody else holds."""
        request = self.model_copy(update={"execution_token": secrets.token_hex(EXECUTION_TOKEN_BYTES)})
        return json.dumps(request.model_dump(mode="json"), separators=(",", ":"))

    @property
    def execution_id(self) -> str:
        """Who holds the image while it is PROCESSING (the record's run_id) and names the run's work files: the run
        id and this execution's token. Step Functions' retries within one execution repeat it; a second execution
        of the same run (Express does not de-duplicate by name) never has it, so its Claim finds the image taken."""
        return f"{self.run_id}-{self.execution_token}" if self.execution_token else self.run_id


def run_id_for(image_id: str, bucket: str, key: str, version: str) -> str:
    """The execution name of the run for one version of an object (its version id, else its ETag).

    At most 49 characters of [0-9a-f-], well inside Step Functions' 80-character name limit.
    """
    digest = hashlib.sha256(f"{bucket}/{key}@{version}".encode()).hexdigest()
    return f"{image_id}-{digest[:RUN_ID_HASH_LENGTH]}"


class StaleEvent(Exception):
    """The record is missing, finished, or claimed by another run: this run has nothing to do."""


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Claimed(_Result):
    """The run holds the image; what the client declared when it started the upload travels on to Validate, which
    compares it with what arrived."""

    claimed_at_ms: int
    declared_content_type: str | None = None  # None only in runs claimed before the record's values were passed on
    declared_size: int | None = None  # None when the client declared no size (the POST form's range applied)


class ValidatedOriginal(ValidatedImage, _Result):
    exif: ExifSummary


class Intermediate(_Result):
    """A rendition's pixels between Resize and Watermark: raw bytes (Image.tobytes()) at `offset` in the run's work
    object (Resized.work_key), `width x height` pixels of `mode`."""

    offset: int
    long_edge: int
    width: int
    height: int
    mode: str  # RGB or RGBA

    @property
    def byte_count(self) -> int:
        """How many bytes of the work object are this rendition's (one byte per band per pixel)."""
        return self.width * self.height * len(self.mode)


class Resized(_Result):
    # One object for every rendition's pixels, one after the other: one PUT, one GET and one (free) DELETE per run,
    # where a file per rendition cost a request each and a LIST to clean them up.
    work_key: str
    intermediates: dict[str, Intermediate]
    placeholder: str
    dominant_color: str


class Rendered(_Result):
    renditions: dict[str, Rendition]


class Persisted(_Result):
    status: ImageStatus
    processing_ms: int


class Outcome(_Result):
    status: ImageStatus
    recorded: bool  # False when the record had already moved on or is gone (nothing was written)
    image_gone: bool = False  # the owner deleted the image during the run; the state machine ends as ImageGone
    reason: str | None = None
    error_id: str | None = None


class StepError(_Result):
    """What a Catch puts under $.error: the error name and its cause (for Lambda, a JSON document)."""

    error: str = Field(default="", alias="Error")
    cause: str = Field(default="", alias="Cause")


class WorkflowState(ProcessingRequest):
    """The state the steps share: the request at the top, each step's result under its ResultPath."""

    claim: Claimed | None = None
    validated: ValidatedOriginal | None = None
    resized: Resized | None = None
    rendered: Rendered | None = None
    error: StepError | None = None

    def require_claim(self) -> Claimed:
        return _required(self.claim, "claim")

    def require_validated(self) -> ValidatedOriginal:
        return _required(self.validated, "validated")

    def require_resized(self) -> Resized:
        return _required(self.resized, "resized")

    def require_rendered(self) -> Rendered:
        return _required(self.rendered, "rendered")

    @classmethod
    def of_step_event(cls, event: dict[str, Any]) -> WorkflowState:
        """The state a step's Lambda event carries; from here on every log line names the image and the run."""
        state = cls.model_validate(event)
        logger.set_correlation_id(state.image_id)
        logger.append_keys(run_id=state.run_id)
        return state

    @classmethod
    def of_ending_event(cls, event: dict[str, Any]) -> WorkflowState:
        """The state an ending (MarkRejected, MarkFailed) reads: without Resize's result, which no ending needs, so
        a run whose Resize ran on another release (another result shape) still ends with its status and its files
        removed instead of failing its own ending (docs/deploy.md, Updating)."""
        return cls.of_step_event({key: value for key, value in event.items() if key != "resized"})


ResultT = TypeVar("ResultT")
Params = ParamSpec("Params")


def _required(value: ResultT | None, name: str) -> ResultT:
    if value is None:
        raise ValueError(f"the workflow state has no {name!r}: the state machine definition and the steps disagree")
    return value


def reports_rejections(step: Callable[Params, ResultT]) -> Callable[Params, ResultT]:
    """Let an ImageRejected leave the step with its code and reason as JSON in the message.

    Lambda reports only the exception's class name (which the state machine's Catch matches) and str(exception);
    putting both fields in the message is how MarkRejected learns the code as well as the reason.
    """

    @functools.wraps(step)
    def reporting(*args: Params.args, **kwargs: Params.kwargs) -> ResultT:
        try:
            return step(*args, **kwargs)
        except ImageRejected as rejection:
            logger.info("image rejected", extra={"code": rejection.code, "reason": rejection.reason})
            message = json.dumps({"code": rejection.code, "reason": rejection.reason})
            raise ImageRejected(rejection.code, message) from rejection

    return reporting


def rejection_from(error: StepError | None) -> tuple[str, str]:
    """The (code, reason) of a caught ImageRejected; a generic pair when the error carries none."""
    try:
        message = json.loads((error.cause if error else "") or "{}").get("errorMessage", "")
        detail = json.loads(message)
        return str(detail["code"]), str(detail["reason"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return DEFAULT_REJECTION

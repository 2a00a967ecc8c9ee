"""Validate: check the original's size, type and dimensions and read its EXIF summary (ImageRejected if unfit)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.observability import logger, tracer
from imgplat_common.settings import load_settings

from imgplat_processing.image_steps import validate
from imgplat_processing.settings import ProcessingSettings
from imgplat_processing.store import processing_store
from imgplat_processing.workflow_state import WorkflowState


@ends_cold_start
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = WorkflowState.of_step_event(event)
    return validate(state, load_settings(ProcessingSettings), processing_store()).model_dump(mode="json")

"""MarkRejected: the image is not acceptable; the record says why (REJECTED) and the run's files are removed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.observability import MetricUnit, logger, metrics, tracer
from imgplat_common.settings import load_settings

from imgplat_processing.bookkeeping_steps import mark_rejected
from imgplat_processing.settings import ProcessingSettings
from imgplat_processing.store import processing_store
from imgplat_processing.workflow_state import WorkflowState


@ends_cold_start
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = WorkflowState.of_ending_event(event)
    outcome = mark_rejected(state, load_settings(ProcessingSettings), processing_store())
    metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1 if outcome.recorded else 0)
    return outcome.model_dump(mode="json")

"""Orchestrator: S3 notifications from the ingest queue -> one workflow run per object version.

Each SQS message is handled on its own: a message that fails goes back to the queue alone (partial batch response)
and, after the queue's maxReceiveCount, to its dead-letter queue.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.observability import logger, metrics, tracer
from imgplat_common.settings import load_settings

from imgplat_processing.orchestration import start_workflows_for_batch
from imgplat_processing.settings import OrchestratorSettings
from imgplat_processing.store import processing_store


@ends_cold_start
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings = load_settings(OrchestratorSettings)
    starter = partial(processing_store().start_execution, settings.state_machine_arn)
    return start_workflows_for_batch(event, settings.originals_bucket, starter, context)

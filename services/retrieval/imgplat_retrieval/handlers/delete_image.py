"""DELETE /image/{id}: remove the caller's image, its original and every rendition."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from imgplat_common.api import build_api
from imgplat_common.auth_claims import caller_from_event
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.observability import MetricUnit, logger, metrics, tracer

from imgplat_retrieval.deletion import delete_image
from imgplat_retrieval.store import retrieval_store

app = build_api()


@app.delete("/image/<image_id>")
def delete(image_id: str) -> Response[str]:
    caller = caller_from_event(app.current_event.raw_event)
    delete_image(retrieval_store(), caller.sub, image_id)
    metrics.add_metric(name="ImagesDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=204, body="")


@ends_cold_start
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)

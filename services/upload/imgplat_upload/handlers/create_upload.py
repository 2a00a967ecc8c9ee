"""POST /upload: reserve an image id and hand the caller signed ways to upload the original."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from imgplat_common.api import build_api, json_response
from imgplat_common.auth_claims import caller_from_event
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.observability import MetricUnit, logger, metrics, tracer
from imgplat_common.settings import load_settings

from imgplat_upload.settings import UploadSettings
from imgplat_upload.store import DynamoImageRecords, OriginalsUploadSigner
from imgplat_upload.uploads import UploadRequest, start_upload

app = build_api()


@app.post("/upload")
def create_upload(body: UploadRequest) -> Response[str]:
    """201 with a pre-signed POST form and PUT URL for a new PENDING image owned by the caller."""
    caller = caller_from_event(app.current_event.raw_event)
    settings = load_settings(UploadSettings)
    ticket = start_upload(
        body,
        caller.sub,
        settings,
        records=DynamoImageRecords(settings.images_table),
        signer=OriginalsUploadSigner(settings.originals_bucket),
    )
    logger.append_keys(image_id=ticket.image_id)
    logger.info("upload requested", extra={"content_type": body.content_type, "declared_size": body.size})
    metrics.add_metric(name="UploadsRequested", unit=MetricUnit.Count, value=1)
    return json_response(201, ticket.model_dump(mode="json"), headers={"Location": ticket.status_url})


@ends_cold_start
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (API Gateway REST proxy event)."""
    return app.resolve(event, context)

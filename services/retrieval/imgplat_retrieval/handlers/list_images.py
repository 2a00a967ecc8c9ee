"""GET /images: the caller's images, newest first, a page at a time (?limit=, ?cursor=)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from imgplat_common.api import build_api, json_response
from imgplat_common.auth_claims import caller_from_event
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.observability import logger, metrics, tracer

from imgplat_retrieval.listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, list_images
from imgplat_retrieval.store import retrieval_store, url_issuer

app = build_api()
NO_STORE = {"Cache-Control": "no-store"}


@app.get("/images")
def get_images(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query()] = None,
) -> Response[str]:
    caller = caller_from_event(app.current_event.raw_event)
    issuer = url_issuer()
    page = list_images(retrieval_store(), caller.sub, limit, cursor, issuer)
    # The items carry signed URLs: the answer must not outlive them in a cache.
    return json_response(200, page.model_dump(mode="json"), headers=NO_STORE)


@ends_cold_start
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)

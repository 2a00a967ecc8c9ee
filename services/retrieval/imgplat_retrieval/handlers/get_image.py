"""GET /image/{id}: the image's record, or (with ?size=) a short-lived link to one of its renditions."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from imgplat_common.api import build_api, json_response
from imgplat_common.auth_claims import caller_from_event
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.observability import logger, metrics, tracer

from imgplat_retrieval.images import (
    RequestedFormat,
    describe_image,
    link_rendition,
    refuse_rendition_options_without_size,
    requested_format,
)
from imgplat_retrieval.ownership import find_image
from imgplat_retrieval.store import retrieval_store, url_issuer

app = build_api()
# This answer must not outlive its URL in any cache between us and the client (the rendition itself is cacheable).
NO_STORE = {"Cache-Control": "no-store"}
# format=auto answers by the Accept header, so a cache must key on it.
VARY_ACCEPT = {"Vary": "Accept"}
FORMAT_DESCRIPTION = (
    "jpeg, webp or avif (a size without that format is a 400 listing the ones it has); auto (the default): the best "
    "of avif, webp and jpeg that the Accept header names and the size has, else the most widely decoded one it has "
    "(jpeg unless the deployment writes none)."
)


@app.get("/image/<image_id>")
def get_image(
    image_id: str,
    size: Annotated[str | None, Query()] = None,
    image_format: Annotated[RequestedFormat | None, Query(alias="format", description=FORMAT_DESCRIPTION)] = None,
    redirect: Annotated[bool, Query()] = False,
) -> Response[str]:
    caller = caller_from_event(app.current_event.raw_event)
    refuse_rendition_options_without_size(size, image_format, redirect)
    store = retrieval_store()
    record = find_image(store, caller.sub, image_id)
    if size is None:
        return json_response(200, describe_image(record).model_dump(mode="json"))
    issuer = url_issuer()
    accept = app.current_event.headers.get("accept")
    link = link_rendition(record, size, requested_format(image_format), issuer, accept=accept)
    # Without format (auto), the Accept header decides.
    headers = {**NO_STORE, **(VARY_ACCEPT if image_format in (None, RequestedFormat.AUTO) else {})}
    if redirect:
        return Response(status_code=302, body="", headers={"Location": link.url, **headers})
    return json_response(200, link.model_dump(mode="json"), headers=headers)


@ends_cold_start
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)

"""GET /image/{id}: the image's record, or (with ?size=) a short-lived link to one of its renditions."""

from __future__ import annotations

import time
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from imgplat_common.api import build_api, json_response
from imgplat_common.auth_claims import caller_from_event
from imgplat_common.observability import logger, metrics, tracer
from imgplat_common.settings import load_settings

from imgplat_retrieval.images import RenditionFormat, describe_image, find_image, link_rendition
from imgplat_retrieval.rendition_urls import UrlIssuer, url_lifetime
from imgplat_retrieval.settings import RetrievalSettings
from imgplat_retrieval.store import rendition_signer, retrieval_store

app = build_api()
# This answer must not outlive its URL in any cache between us and the client (the rendition itself is cacheable).
NO_STORE = {"Cache-Control": "no-store"}


@app.get("/image/<image_id>")
def get_image(
    image_id: str,
    size: Annotated[str | None, Query()] = None,
    image_format: Annotated[RenditionFormat, Query(alias="format")] = RenditionFormat.JPEG,
    redirect: Annotated[bool, Query()] = False,
) -> Response[str]:
    caller = caller_from_event(app.current_event.raw_event)
    store = retrieval_store()
    record = find_image(store, caller.sub, image_id)
    if size is None:
        return json_response(200, describe_image(record).model_dump(mode="json"))
    issuer = UrlIssuer(rendition_signer(), url_lifetime(load_settings(RetrievalSettings)), now=int(time.time()))
    link = link_rendition(record, size, image_format, issuer)
    if redirect:
        return Response(status_code=302, body="", headers={"Location": link.url, **NO_STORE})
    return json_response(200, link.model_dump(mode="json"), headers=NO_STORE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)

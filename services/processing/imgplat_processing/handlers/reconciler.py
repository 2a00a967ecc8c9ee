"""Reconciler (scheduled): re-drive or fail images stuck in PENDING or PROCESSING (reconciliation.py says how)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from imgplat_common.cold_start import ends_cold_start
from imgplat_common.observability import MetricUnit, logger, metrics, tracer
from imgplat_common.settings import load_settings

from imgplat_processing.reconciliation import reconcile
from imgplat_processing.settings import ReconcilerSettings
from imgplat_processing.store import processing_store, utc_now


@ends_cold_start
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    done = reconcile(load_settings(ReconcilerSettings), processing_store(), now=utc_now())
    metrics.add_metric(name="ImagesReconciled", unit=MetricUnit.Count, value=done.reconciled)
    metrics.add_metric(name="ImagesRedriven", unit=MetricUnit.Count, value=len(done.redriven))
    # The alarm metric: each one is an image whose processing was lost (a dead-lettered message, a dead run).
    metrics.add_metric(name="StuckImagesFailed", unit=MetricUnit.Count, value=len(done.lost))
    # Reservations whose upload never came (their URL expired unused): failed too, but nothing to page anyone for.
    metrics.add_metric(name="UnusedUploadsExpired", unit=MetricUnit.Count, value=len(done.unused_uploads))
    # The other alarm metric: failed images whose ImageFailed the bus refused (the log holds each event to put back).
    metrics.add_metric(name="FailuresNotAnnounced", unit=MetricUnit.Count, value=len(done.unannounced))
    logger.info("reconciled", extra={"redriven": done.redriven, "failed": done.failed, "left": done.left})
    return {"redriven": done.redriven, "failed": done.failed, "left": done.left}

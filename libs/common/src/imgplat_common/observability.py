"""Logger, Tracer and Metrics set up the same way in every function.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (serverless.yml).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
# Only boto is patched: the functions make no other calls worth a subsegment, and patching everything X-Ray supports
# imports every such library installed (httpx, requests...) at cold start (docs/performance.md, cold starts).
tracer = Tracer(patch_modules=("boto3", "botocore"))
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]

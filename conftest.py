"""Test defaults for every test in the repo: no real AWS, ever, and quiet observability."""

import os

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ImagePlatform",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "POWERTOOLS_DEV": "false",
        "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
    }
)
for proxy_variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(proxy_variable, None)

# Property-based tests: no per-example deadline (CI shares two cores with xdist workers and moto), and no example
# database written into the tree; a failure prints the example and its @reproduce_failure line instead.
from hypothesis import settings  # noqa: E402

settings.register_profile("repo", deadline=None, database=None)
settings.load_profile("repo")


@pytest.fixture(autouse=True)
def _no_metrics_left_from_another_test():
    # Powertools' Metrics is one object per process: a test that records metrics without a handler flushing them
    # (logic called directly) would otherwise leave them for the next handler's flush to publish.
    from imgplat_common.observability import metrics

    metrics.clear_metrics()
    yield
    metrics.clear_metrics()

"""botocore's service models without their documentation, for the AWS services the platform's functions call.

Making a client parses its service's model (botocore/data/<service>/<version>/service-2.json.gz), and most of a
model is API documentation that no running code reads: DynamoDB's model is 0.56 MB of JSON, 0.13 MB with its texts
emptied; S3's 1.4 MB, 0.26 MB. A good part of what a client costs a cold start is that parse. botocore_data/ holds the
same models with every `documentation` and `documentationUrl` text emptied and nothing else changed, written from
the pinned botocore by scripts/trim_botocore_models.py (tests/test_botocore_models.py fails when they drift from it).

botocore looks for its data files on AWS_DATA_PATH (its documented search path) before its own directory, file by
file: it finds the trimmed service-2.json here and everything else (endpoint rules, paginators, waiters, other
services) where it always did. scripts/compare_botocore_models.py shows the requests built with them are the same;
docs/performance.md (cold start) has the figures.
"""

from __future__ import annotations

import os

DATA_DIR = os.path.join(os.path.dirname(__file__), "botocore_data")


def use_trimmed_models() -> None:
    """Put the trimmed models first on botocore's search path, for every boto3 session made from now on (one made
    earlier keeps its loader). A path set already stays, after this one (for these six services ours wins), and a
    `data_path` in ~/.aws/config gives way to the variable, as botocore always lets it."""
    current = [path for path in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep) if path]
    if DATA_DIR not in current:
        os.environ["AWS_DATA_PATH"] = os.pathsep.join([DATA_DIR, *current])

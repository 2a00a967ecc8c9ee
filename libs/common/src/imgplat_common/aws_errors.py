"""Reading what AWS said when a call failed: the one place that knows where botocore keeps an error's code.

Duck-typed on the exception's `response` (botocore's ClientError has one) so this library needs no botocore.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"
# AWS throttling or failing on its side: the same call may well work when retried.
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "TransactionConflictException",
    }
)


def _response(error: BaseException) -> dict[str, Any]:
    response = getattr(error, "response", None)
    return response if isinstance(response, dict) else {}


def error_code(error: BaseException) -> str:
    """The AWS error code of a failed call ("ThrottlingException", "NoSuchKey", ...); "" when it has none."""
    return str(_response(error).get("Error", {}).get("Code", ""))


def error_message(error: BaseException) -> str:
    """AWS's message for a failed call; "" when it has none."""
    return str(_response(error).get("Error", {}).get("Message", ""))


def http_status(error: BaseException) -> int:
    """The HTTP status AWS answered a failed call with; 0 when there was no answer."""
    return int(_response(error).get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_conditional_check_failure(error: BaseException) -> bool:
    """True when DynamoDB refused a write because its condition did not hold."""
    return error_code(error) == CONDITIONAL_CHECK_FAILED


def is_transient(error: BaseException) -> bool:
    """True when AWS was throttling or failing on its side (a known code, or any 5xx answer)."""
    return error_code(error) in TRANSIENT_CODES or http_status(error) >= HTTPStatus.INTERNAL_SERVER_ERROR

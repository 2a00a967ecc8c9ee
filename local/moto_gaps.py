"""Cognito calls the platform makes that moto 5.2.5 does not implement, answered as Cognito would.

Only the emulator is patched; the handlers call the real API names. Used by the local platform and in-process tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult


def _resend_confirmation_code(self: CognitoIdpResponse) -> ActionResult:
    """ResendConfirmationCode: no e-mail exists locally, so there is nothing to send; the answer says where it went.

    With PreventUserExistenceErrors, Cognito answers the same for unknown users, and so does this.
    """
    return ActionResult(
        {"CodeDeliveryDetails": {"Destination": "l***@l***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}}
    )


@contextmanager
def cognito_gaps_filled() -> Iterator[None]:
    with mock.patch.object(CognitoIdpResponse, "resend_confirmation_code", _resend_confirmation_code, create=True):
        yield

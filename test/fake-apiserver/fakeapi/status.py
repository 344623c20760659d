# SPDX-License-Identifier: Apache-2.0
"""metav1.Status bodies, as the real API server sends them on errors.

REASONS maps the HTTP codes we produce to the StatusReason the real server
uses; status_body() builds the object.
"""
from __future__ import annotations

from typing import Any, Optional

REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_body(code: int, message: str, reason: Optional[str] = None,
                details: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """A Failure Status object with the given HTTP code."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason if reason is not None else REASONS.get(code, ""),
    }
    if details:
        body["details"] = details
    body["code"] = code
    return body


def expired_watch_status(requested: int, oldest: int) -> dict[str, Any]:
    """The Status carried by the ERROR event for a too-old watch RV."""
    return status_body(410, f"too old resource version: {requested} ({oldest})", "Expired")


EXPIRED_CONTINUE_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue value "
    "from the response to resume (the resumed list will not be a consistent snapshot).")

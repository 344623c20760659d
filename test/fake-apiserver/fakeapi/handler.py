# SPDX-License-Identifier: Apache-2.0
"""What the API and control handlers share: HTTP/1.1, the FakeAPIServer they serve, quiet logs."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import FakeAPIServer


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sys_version = ""

    @property
    def fake(self) -> "FakeAPIServer":
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.fake.verbose:
            super().log_message(format, *args)

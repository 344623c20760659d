# SPDX-License-Identifier: Apache-2.0
"""Request counters and a short request log, read by tests via the control API.

Counters are per resource and verb (list, watch, get), plus active watches
per resource and authentication failures, so a test can assert e.g. that
the client relisted exactly once. The log keeps the last requests with
their query parameters and how they authenticated.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any


class Stats:
    def __init__(self, log_size: int = 1000) -> None:
        self._lock = threading.Lock()
        self._log_size = log_size
        # Live state, not a counter: reset() leaves it alone.
        self.active_watches: dict[str, int] = collections.defaultdict(int)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: dict[str, dict[str, int]] = collections.defaultdict(
                lambda: collections.defaultdict(int))
            self.auth_failures = 0
            self.log: collections.deque[dict[str, Any]] = collections.deque(maxlen=self._log_size)

    def request(self, resource: str, verb: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests[resource][verb] += 1
            entry = dict(entry, resource=resource, verb=verb, time=time.time())
            self.log.append(entry)

    def other(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.log.append(dict(entry, time=time.time()))

    def auth_failed(self) -> None:
        with self._lock:
            self.auth_failures += 1

    def watch_started(self, resource: str) -> None:
        with self._lock:
            self.active_watches[resource] += 1

    def watch_ended(self, resource: str) -> None:
        with self._lock:
            self.active_watches[resource] -= 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": {r: dict(v) for r, v in self.requests.items()},
                "active_watches": {r: n for r, n in self.active_watches.items() if n},
                "active_watches_total": sum(self.active_watches.values()),
                "auth_failures": self.auth_failures,
            }

    def requests_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.log)

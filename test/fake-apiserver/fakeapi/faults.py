# SPDX-License-Identifier: Apache-2.0
"""Injected failures: a queue of fault specs consumed by matching requests.

A fault applies to the next `count` requests that match its resource and
verb (list, watch or get). Kinds: status (answer with an error code and an
optional Retry-After), drop_mid_event (send part of an event, or of a
LIST body, then close the connection), stall (stop sending and keep the
socket open), truncated_line, garbage_line and close_after_n_events (end
the watch cleanly after n events). Watch faults first let `after_events`
events through; `query` limits a fault to requests with those query parameters.
"""
from __future__ import annotations

import copy
import dataclasses
import threading
from typing import Any, Optional

from .resources import resource_for

KINDS = ("status", "drop_mid_event", "stall", "truncated_line", "garbage_line",
         "close_after_n_events")
VERBS = ("list", "watch", "get", "*")


class FaultError(ValueError):
    """A fault spec that is malformed."""


@dataclasses.dataclass
class Fault:
    id: int
    fault: str
    resource: str  # plural or "*"
    verb: str  # list, watch, get or "*"
    count: int  # requests left; -1 = every matching request
    code: int = 500
    retry_after: Optional[int] = None
    message: str = ""
    after_events: int = 0
    n: int = 0  # close_after_n_events
    seconds: Optional[float] = None  # stall duration, None = until reset or shutdown
    # Only requests whose query matches: {param: value}, "*" = present, "" = absent.
    query: Optional[dict[str, str]] = None
    applied: int = 0

    def matches_query(self, query: dict[str, str]) -> bool:
        for key, want in (self.query or {}).items():
            if want == "*" and key not in query:
                return False
            if want != "*" and query.get(key, "") != want:
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _int(spec: dict[str, Any], name: str, default: Optional[int], lo: int) -> Optional[int]:
    val = spec.get(name, default)
    if val is None:
        return None
    if isinstance(val, bool) or not isinstance(val, int) or val < lo:
        raise FaultError(f"{name} must be an integer >= {lo}")
    return val


def parse_fault(spec: Any, fid: int) -> Fault:
    """Validate one JSON fault spec."""
    if not isinstance(spec, dict):
        raise FaultError("a fault is a JSON object")
    kind = spec.get("fault", spec.get("type"))
    if kind not in KINDS:
        raise FaultError(f"fault must be one of {', '.join(KINDS)}")
    resource = spec.get("resource", "*")
    if resource != "*":
        res = resource_for(str(resource))
        if res is None:
            raise FaultError(f"unknown resource {resource!r}")
        resource = res.plural
    verb = spec.get("verb", "watch" if kind == "close_after_n_events" else "*")
    if verb not in VERBS:
        raise FaultError(f"verb must be one of {', '.join(VERBS)}")
    count = _int(spec, "count", 1, -1)
    if count == 0:
        raise FaultError("count must be -1 (always) or >= 1")
    code = _int(spec, "code", 500, 100)
    assert count is not None and code is not None
    seconds = spec.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or seconds < 0):
        raise FaultError("seconds must be a number >= 0")
    match = spec.get("query")
    if match is not None and (not isinstance(match, dict) or
                              not all(isinstance(v, str) for v in match.values())):
        raise FaultError("query must be an object of strings")
    return Fault(id=fid, fault=kind, resource=resource, verb=verb, count=count, code=code,
                 retry_after=_int(spec, "retry_after", None, 0),
                 message=str(spec.get("message", "")),
                 after_events=_int(spec, "after_events", 0, 0) or 0,
                 n=_int(spec, "n", 0, 0) or 0, seconds=seconds, query=match)


class FaultTable:
    """The pending faults, matched in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1
        self.applied_total = 0

    def add(self, spec: Any) -> Fault:
        with self._lock:
            fault = parse_fault(spec, self._next_id)
            self._next_id += 1
            self._faults.append(fault)
            return copy.copy(fault)

    def take(self, resource: str, verb: str,
             query: Optional[dict[str, str]] = None) -> Optional[Fault]:
        """The first fault matching this request, consuming one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.resource not in ("*", resource) or fault.verb not in ("*", verb):
                    continue
                if not fault.matches_query(query or {}):
                    continue
                if fault.fault == "close_after_n_events" and verb != "watch":
                    continue
                fault.applied += 1
                self.applied_total += 1
                if fault.count > 0:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                return copy.copy(fault)
            return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def clear(self, counters: bool = False) -> None:
        """Drop pending faults (and with counters, the applied count too)."""
        with self._lock:
            self._faults.clear()
            if counters:
                self.applied_total = 0

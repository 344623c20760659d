# SPDX-License-Identifier: Apache-2.0
"""The control API for tests: plain HTTP, JSON in and out, on its own port.

Routes (see README.md for bodies):
  GET    /control/info | /control/state | /control/stats | /control/requests | /control/faults
  POST   /control/objects          create or update one object (or a List)
  DELETE /control/objects/{kind}/{namespace}/{name}   (/{kind}/{name} for Nodes)
  POST   /control/load             a kubectl List
  POST   /control/compact          drop history, expire continue tokens and old RVs
  POST   /control/faults           add a fault spec (or a list of them)
  DELETE /control/faults           drop pending faults
  POST   /control/watches/close    end open watches cleanly
  POST   /control/config           {"bookmark_interval": seconds, "watch_list": ...,
                                     "rv0_paginates": bool, "cache_lag": revisions}
  POST   /control/stats/reset      zero the counters and the request log
  POST   /control/reset            objects, history, faults, counters and watches
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

from .faults import FaultError
from .handler import FakeHandler
from .resources import resource_for
from .store import ObjectError

if TYPE_CHECKING:
    from .server import FakeAPIServer


class _BadRequest(Exception):
    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.code = code


def load_objects(fake: "FakeAPIServer", doc: Any) -> list[dict[str, Any]]:
    """Create or update every object of a List (or one object); returns the results."""
    if not isinstance(doc, dict):
        raise _BadRequest("expected a JSON object")
    kind = doc.get("kind") if isinstance(doc.get("kind"), str) else ""
    is_list = kind.endswith("List")
    items = doc.get("items") if is_list else [doc]
    if not isinstance(items, list):
        raise _BadRequest("List has no items array")
    out = []
    for item in items:
        if is_list and kind != "List" and isinstance(item, dict) and "kind" not in item:
            item = dict(item, kind=kind[:-4])  # a ServiceList's items carry no kind
        try:
            obj, result = fake.store.put(item)
        except ObjectError as exc:
            raise _BadRequest(str(exc)) from None
        out.append({"result": result, "object": obj})
    return out


class ControlHandler(FakeHandler):
    server_version = "fake-apiserver-control"

    def _reply(self, code: int, body: Any) -> None:
        data = json.dumps(body, indent=1).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise _BadRequest(f"body is not JSON: {exc}") from None

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = self._body() if method in ("POST", "DELETE") else None
            code, out = self._route(method, path, body)
        except _BadRequest as exc:
            code, out = exc.code, {"error": str(exc)}
        self._reply(code, out)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        fake = self.fake
        store = fake.store
        if method == "GET":
            if path == "/control/info":
                return 200, fake.info
            if path == "/control/state":
                rv, compacted, objs = store.all_objects()
                return 200, {"resourceVersion": str(rv), "compactedResourceVersion": str(compacted),
                             "objects": objs}
            if path == "/control/stats":
                return 200, dict(fake.stats.to_json(), resourceVersion=str(store.current_rv()),
                                 faults_applied=fake.faults.applied_total)
            if path == "/control/requests":
                return 200, {"requests": fake.stats.requests_log()}
            if path == "/control/faults":
                return 200, {"faults": fake.faults.pending()}
            raise _BadRequest(f"no such route: GET {path}", 404)
        if method == "POST":
            if path == "/control/objects" or path == "/control/load":
                results = load_objects(fake, body)
                if path == "/control/objects" and len(results) == 1:
                    return (201 if results[0]["result"] == "created" else 200), results[0]
                return 200, {"results": results, "resourceVersion": str(store.current_rv())}
            if path == "/control/compact":
                to_rv: Optional[int] = None
                if isinstance(body, dict) and body.get("resourceVersion") is not None:
                    try:
                        to_rv = int(body["resourceVersion"])
                    except (TypeError, ValueError):
                        raise _BadRequest("resourceVersion must be an integer") from None
                point = store.compact(to_rv)
                return 200, {"compactedResourceVersion": str(point),
                             "resourceVersion": str(store.current_rv())}
            if path == "/control/faults":
                specs = body if isinstance(body, list) else [body]
                try:
                    added = [fake.faults.add(s).to_json() for s in specs]
                except FaultError as exc:
                    raise _BadRequest(str(exc)) from None
                return 200, {"faults": added}
            if path == "/control/watches/close":
                res = None
                if isinstance(body, dict) and body.get("resource"):
                    res = resource_for(str(body["resource"]))
                    if res is None:
                        raise _BadRequest(f"unknown resource {body['resource']!r}")
                return 200, {"closed": store.close_watches(res)}
            if path == "/control/config":
                if not isinstance(body, dict):
                    raise _BadRequest("expected a JSON object")
                if "bookmark_interval" in body:
                    val = body["bookmark_interval"]
                    if isinstance(val, bool) or not isinstance(val, (int, float)) or val <= 0:
                        raise _BadRequest("bookmark_interval must be a number > 0")
                    fake.bookmark_interval = float(val)
                if "watch_list" in body:
                    if body["watch_list"] not in ("supported", "ignored", "refused"):
                        raise _BadRequest("watch_list must be supported, ignored or refused")
                    fake.watch_list = body["watch_list"]
                if "rv0_paginates" in body:
                    if not isinstance(body["rv0_paginates"], bool):
                        raise _BadRequest("rv0_paginates must be true or false")
                    fake.rv0_paginates = body["rv0_paginates"]
                if "cache_lag" in body:
                    val = body["cache_lag"]
                    if isinstance(val, bool) or not isinstance(val, int) or val < 0:
                        raise _BadRequest("cache_lag must be an integer >= 0")
                    fake.cache_lag = val
                return 200, {"bookmark_interval": fake.bookmark_interval,
                             "watch_list": fake.watch_list, "rv0_paginates": fake.rv0_paginates,
                             "cache_lag": fake.cache_lag}
            if path == "/control/stats/reset":
                fake.stats.reset()
                return 200, {}
            if path == "/control/reset":
                fake.reset()
                return 200, {"resourceVersion": str(store.current_rv())}
            raise _BadRequest(f"no such route: POST {path}", 404)
        if method == "DELETE":
            if path == "/control/faults":
                fake.faults.clear()
                return 200, {}
            parts = path.split("/")
            if len(parts) in (5, 6) and parts[1:3] == ["control", "objects"]:
                res = resource_for(parts[3])
                if res is None:
                    raise _BadRequest(f"unknown kind {parts[3]!r}")
                if len(parts) == 6:
                    ns: Optional[str] = parts[4] if res.namespaced else None
                    name = parts[5]
                elif res.namespaced:
                    raise _BadRequest(f"{res.kind} is namespaced: use /control/objects/{res.kind}/NAMESPACE/NAME")
                else:
                    ns, name = None, parts[4]
                gone = store.delete(res, ns, name)
                if gone is None:
                    raise _BadRequest(f"{res.kind} {ns + '/' if ns else ''}{name} not found", 404)
                return 200, {"result": "deleted", "object": gone}
            raise _BadRequest(f"no such route: DELETE {path}", 404)
        raise _BadRequest(f"method {method} not allowed", 405)

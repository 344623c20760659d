# SPDX-License-Identifier: Apache-2.0
"""The Kubernetes API over HTTP/1.1: auth, GET, LIST, WATCH and faults.

One handler instance serves one connection (keep-alive). Authentication is
a bearer token or a client certificate verified by the TLS layer; health
and version endpoints are public, as with the real server's default
anonymous access. WATCH responses are chunked, one JSON event per line and
per chunk; objects in events carry kind/apiVersion, LIST items do not.
"""
from __future__ import annotations

import json
import queue
import select
import socket
import ssl
import time
import urllib.parse
import uuid
from typing import Any, Optional

from . import status
from .faults import Fault
from .handler import FakeHandler
from .listing import ApiError, do_list, parse_rv
from .resources import ResourceRequest, parse_api_path
from .selector import FieldSelector, LabelSelector, SelectorError
from .store import Event, ExpiredError, Obj

VERSION = {
    "major": "1", "minor": "29", "gitVersion": "v1.29.0-fake", "gitCommit": "0" * 40,
    "gitTreeState": "clean", "buildDate": "2024-01-01T00:00:00Z", "goVersion": "go1.21.0",
    "compiler": "gc", "platform": "linux/amd64",
}
PUBLIC_PATHS = ("/healthz", "/readyz", "/livez", "/version")
GARBAGE = b"this is not JSON {{{ \x01\x02 ]]"
POLL = 0.05  # seconds between checks for a closed client, shutdown or reset


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _bool_param(query: dict[str, str], name: str) -> bool:
    val = query.get(name, "")
    if val in ("", "0", "f", "F", "false", "False", "FALSE"):
        return False
    if val in ("1", "t", "T", "true", "True", "TRUE"):
        return True
    raise ApiError(400, f"invalid value for {name}: {val!r}")


class _Abort(Exception):
    """The connection is gone or must be dropped: stop writing."""


class APIHandler(FakeHandler):
    server_version = "fake-apiserver"

    # -- plumbing --------------------------------------------------------

    def _send_body(self, code: int, body: bytes, ctype: str = "application/json",
                   headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, err: ApiError, headers: Optional[dict[str, str]] = None) -> None:
        self._send_body(err.code, _json(err.body), headers=headers)

    def _client_gone(self) -> bool:
        """True when the peer closed the connection (checked without blocking)."""
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not readable:
            return False
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(0)
                try:
                    return sock.recv(1) == b""
                except ssl.SSLWantReadError:
                    return False
                finally:
                    sock.settimeout(None)
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True

    def _abort_connection(self) -> None:
        """Drop the TCP connection without a TLS close_notify or last chunk."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _stall(self, seconds: Optional[float]) -> bool:
        """Send nothing until seconds pass (True) or the client, a reset or shutdown ends it (False)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        epoch = self.fake.epoch
        while deadline is None or time.monotonic() < deadline:
            if self.fake.stopping.is_set() or self.fake.epoch != epoch or self._client_gone():
                return False
            time.sleep(POLL)
        return True

    def _authenticate(self) -> Optional[str]:
        """The user name, or None when neither a valid token nor a client cert came."""
        sock = self.connection
        if isinstance(sock, ssl.SSLSocket):
            cert = sock.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for key, value in rdn:
                        if key == "commonName":
                            return "cert:" + value
                return "cert:"
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip() and token.strip() == self.fake.token:
            return "token"
        return None

    # -- entry points ------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        try:
            self._handle()
        except _Abort:
            self.close_connection = True
        except (BrokenPipeError, ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def _not_allowed(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # keep the connection usable
        self._send_error(ApiError(405, "the server does not allow this method on the requested "
                                       "resource (fake-apiserver is read-only; use the control API)"))

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed  # noqa: N815

    def _handle(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        if path in PUBLIC_PATHS:
            self.fake.stats.other({"path": path, "method": self.command})
            if path == "/version":
                self._send_body(200, _json(VERSION))
            else:
                self._send_body(200, b"ok", "text/plain; charset=utf-8")
            return
        user = self._authenticate()
        if user is None:
            self.fake.stats.auth_failed()
            self._send_error(ApiError(401, "Unauthorized"))
            return
        req = parse_api_path(path)
        if req is None:
            self._send_error(ApiError(404, "the server could not find the requested resource",
                                      details={"causes": [{"reason": "UnexpectedServerResponse",
                                                           "message": "404 page not found"}]}))
            return
        accept = self.headers.get("Accept", "")
        if accept and not any(t.split(";")[0].strip() in ("application/json", "*/*", "application/*")
                              for t in accept.split(",")):
            self._send_error(ApiError(406, "only the following media types are accepted: "
                                           "application/json"))
            return
        try:
            watch = req.legacy_watch or _bool_param(query, "watch")
            verb = "get" if req.name is not None and not watch else ("watch" if watch else "list")
            self.fake.stats.request(req.resource.plural, verb, {
                "method": self.command, "path": url.path, "query": query, "user": user,
                "namespace": req.namespace, "name": req.name,
                "http_version": self.request_version,
                "user_agent": self.headers.get("User-Agent", ""),
            })
            fault = self.fake.faults.take(req.resource.plural, verb, query)
            if fault is not None and fault.fault == "status":
                self._fault_status(fault)
                return
            if fault is not None and fault.fault == "stall" and verb != "watch":
                if not self._stall(fault.seconds):
                    self._abort_connection()
                    return
                fault = None
            labels = LabelSelector(query.get("labelSelector"))
            fields = FieldSelector(query.get("fieldSelector"))
            if verb == "get":
                assert req.name is not None
                obj = self.fake.store.get(req.resource, req.namespace, req.name)
                if obj is None:
                    details: dict[str, Any] = {"name": req.name, "kind": req.resource.plural}
                    if req.resource.group:
                        details["group"] = req.resource.group
                    raise ApiError(404, f"{req.resource.plural}{'.' + req.resource.group if req.resource.group else ''}"
                                        f" \"{req.name}\" not found", details=details)
                self._send_faulty(200, _json(obj), fault)
            elif verb == "list":
                body = do_list(self.fake.store, req.resource, req.namespace, query, labels, fields,
                               self.fake.rv0_paginates, self.fake.cache_lag)
                self._send_faulty(200, _json(body), fault)
            else:
                self._watch(req, query, labels, fields, fault)
        except SelectorError as exc:
            self._send_error(ApiError(400, str(exc)))
        except ApiError as exc:
            self._send_error(exc)

    # -- faults on plain responses -------------------------------------------

    def _fault_status(self, fault: Fault) -> None:
        headers: dict[str, str] = {}
        details: dict[str, Any] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
            details["retryAfterSeconds"] = fault.retry_after
        message = fault.message or {
            429: "Too many requests, please try again later.",
            500: "Internal error occurred: injected by fake-apiserver",
            503: "The server is currently unable to handle the request",
            504: "The server was unable to return a response in the time allotted",
        }.get(fault.code, "injected by fake-apiserver")
        self._send_error(ApiError(fault.code, message, details=details or None), headers)

    def _send_faulty(self, code: int, body: bytes, fault: Optional[Fault]) -> None:
        """Send a JSON body, damaged as the fault says."""
        if fault is None or fault.fault == "close_after_n_events":
            self._send_body(code, body)
        elif fault.fault == "garbage_line":
            self._send_body(code, GARBAGE + b"\n")
        elif fault.fault == "truncated_line":
            self._send_body(code, body[: len(body) // 2])
        elif fault.fault == "drop_mid_event":
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self._abort_connection()
        else:
            self._send_body(code, body)

    # -- watch -------------------------------------------------------------

    def _write_chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (OSError, ValueError):
            raise _Abort() from None

    def _end_chunks(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ValueError):
            raise _Abort() from None

    def _watch(self, req: ResourceRequest, query: dict[str, str], labels: LabelSelector,
               fields: FieldSelector, fault: Optional[Fault]) -> None:
        res = req.resource
        rv_text = query.get("resourceVersion", "")
        from_rv = parse_rv(rv_text) if rv_text else None
        if from_rv == 0:
            from_rv = None  # "any": start from the current state, with synthetic ADDED events
        bookmarks = _bool_param(query, "allowWatchBookmarks")
        if self.fake.watch_list == "ignored":
            # An older server knows neither parameter: a plain watch from the given RV.
            query = {k: v for k, v in query.items()
                     if k not in ("sendInitialEvents", "resourceVersionMatch")}
        elif self.fake.watch_list == "refused" and "sendInitialEvents" in query:
            raise ApiError(422, "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: "
                                "Forbidden: sendInitialEvents is forbidden for watch unless the "
                                "WatchList feature gate is enabled")
        initial_events = _bool_param(query, "sendInitialEvents")
        if "sendInitialEvents" in query:
            if query.get("resourceVersionMatch") != "NotOlderThan" or not bookmarks:
                raise ApiError(422, "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: "
                                    "Forbidden: sendInitialEvents is forbidden for watch unless "
                                    "resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true")
        elif query.get("resourceVersionMatch"):
            raise ApiError(422, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: "
                                "Forbidden: resourceVersionMatch is forbidden for watch unless "
                                "sendInitialEvents is provided")
        if initial_events:
            from_rv = None
        elif "sendInitialEvents" in query and from_rv is None:
            from_rv = self.fake.store.current_rv()  # sendInitialEvents=false: no initial state
        timeout: Optional[float] = None
        if query.get("timeoutSeconds"):
            try:
                timeout = float(int(query["timeoutSeconds"]))
            except ValueError:
                raise ApiError(400, f"invalid timeoutSeconds: {query['timeoutSeconds']!r}") from None
            if timeout <= 0:
                timeout = None  # the real server picks its own long timeout
        name = req.name

        def visible(obj: Optional[Obj]) -> bool:
            if obj is None:
                return False
            meta = obj.get("metadata") or {}
            if req.namespace is not None and meta.get("namespace") != req.namespace:
                return False
            if name is not None and meta.get("name") != name:
                return False
            return labels.matches(meta.get("labels")) and fields.matches(obj)

        def convert(ev: Event) -> Optional[dict[str, Any]]:
            """The event this watcher sees, given its selectors (None: nothing)."""
            now, before = visible(ev.obj), visible(ev.old)
            if ev.type == "DELETED":
                return {"type": "DELETED", "object": ev.obj} if before else None
            if now and before:
                return {"type": "MODIFIED", "object": ev.obj}
            if now:
                return {"type": "ADDED", "object": ev.obj}
            if before and ev.old is not None:
                gone = json.loads(json.dumps(ev.old))
                gone["metadata"]["resourceVersion"] = str(ev.rv)
                return {"type": "DELETED", "object": gone}
            return None

        store = self.fake.store
        try:
            watcher, initial, replay = store.watch(res, from_rv)
        except ExpiredError as exc:
            self._start_stream()
            self._write_chunk(_json({"type": "ERROR", "object": status.expired_watch_status(
                exc.requested, exc.oldest)}) + b"\n")
            self._end_chunks()
            return
        self.fake.stats.watch_started(res.plural)
        try:
            self._start_stream()
            stream = _Stream(self, fault)
            stream.start()
            for obj in initial:
                if visible(obj):
                    stream.send({"type": "ADDED", "object": obj})
            if initial_events:
                stream.send(self._bookmark(res, store.current_rv(), initial_end=True))
            for ev in replay:
                out = convert(ev)
                if out is not None:
                    stream.send(out)
            deadline = None if timeout is None else time.monotonic() + timeout
            next_bookmark = time.monotonic() + self.fake.bookmark_interval
            epoch = self.fake.epoch
            while True:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if self.fake.stopping.is_set() or self.fake.epoch != epoch:
                    break
                try:
                    ev = watcher.queue.get(timeout=POLL)
                except queue.Empty:
                    if self._client_gone():
                        raise _Abort() from None
                    if bookmarks and now >= next_bookmark:
                        rv = store.idle_rv(watcher)
                        if rv is not None:
                            stream.send(self._bookmark(res, rv))
                            next_bookmark = now + self.fake.bookmark_interval
                    continue
                if ev is None:
                    break
                if from_rv is not None and ev.rv <= from_rv:
                    continue  # a watch from a future RV starts there, as etcd's does
                out = convert(ev)
                if out is not None:
                    stream.send(out)
            self._end_chunks()
        finally:
            store.unwatch(watcher)
            self.fake.stats.watch_ended(res.plural)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    @staticmethod
    def _bookmark(res: Any, rv: int, initial_end: bool = False) -> dict[str, Any]:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                               "metadata": meta}}


class _Stream:
    """Writes watch events, one per line and per chunk, applying a watch fault."""

    def __init__(self, handler: APIHandler, fault: Optional[Fault]) -> None:
        self.h = handler
        self.fault = fault
        self.sent = 0

    def start(self) -> None:
        """close_after_n_events with n=0 ends the watch before any event."""
        f = self.fault
        if f is not None and f.fault == "close_after_n_events" and f.n == 0:
            self.h._end_chunks()
            raise _Abort()

    def send(self, event: dict[str, Any]) -> None:
        line = _json(event) + b"\n"
        f = self.fault
        if f is not None and f.fault == "close_after_n_events" and self.sent >= f.n:
            self.h._end_chunks()
            raise _Abort()
        if f is not None and f.fault != "close_after_n_events" and self.sent >= f.after_events:
            self.fault = None
            if f.fault == "drop_mid_event":
                self.h._write_chunk(line[: max(1, len(line) // 2)])
                self.h._abort_connection()
                raise _Abort()
            if f.fault == "stall":
                if not self.h._stall(f.seconds):
                    self.h._abort_connection()
                    raise _Abort()
            elif f.fault == "truncated_line":
                self.h._write_chunk(line[: len(line) // 2] + b"\n")
                self.sent += 1
                return
            elif f.fault == "garbage_line":
                self.h._write_chunk(GARBAGE + b"\n")
        self.h._write_chunk(line)
        self.sent += 1
        if f is not None and f.fault == "close_after_n_events" and self.sent >= f.n:
            self.h._end_chunks()
            raise _Abort()

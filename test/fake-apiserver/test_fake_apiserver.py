#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tests for the fake Kubernetes API server: one test per line of the README checklist.

Each test is named test_cNN_<what> after its checklist line (README.md) and
talks to a server started on port 0, over real TLS sockets. Watch streams are
read with a raw HTTP/1.1 client so the chunk framing itself is asserted.
Table-driven cases print their name on failure (subTest).
Run: /usr/bin/python3 test_fake_apiserver.py [-v] [TestClass[.test_name]]
"""
from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
from typing import Any, Optional

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))

from fakeapi import certs  # noqa: E402
from fakeapi.server import FakeAPIServer  # noqa: E402
from test_ports import free_port  # noqa: E402

NGHTTPX = "/usr/sbin/nghttpx"
TOKEN = "s3cret-token"


# -- clients ---------------------------------------------------------------


def tls_context(info: dict[str, Any], cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=info["ca"])
    if cert:
        ctx.load_cert_chain(info["client_cert"], info["client_key"])
    return ctx


def auth_headers(auth: Optional[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {auth}"} if auth else {}


class Api:
    """A small client for the fake's API port (token, client cert, or nothing)."""

    def __init__(self, info: dict[str, Any], token: Optional[str] = TOKEN, cert: bool = False,
                 host: str = "127.0.0.1") -> None:
        self.info, self.token, self.cert, self.host = info, token, cert, host

    def conn(self, timeout: float = 5.0) -> http.client.HTTPConnection:
        if self.info["plain_http"]:
            return http.client.HTTPConnection(self.host, self.info["port"], timeout=timeout)
        return http.client.HTTPSConnection(self.host, self.info["port"], timeout=timeout,
                                           context=tls_context(self.info, self.cert))

    def get(self, path: str, headers: Optional[dict[str, str]] = None,
            timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
        c = self.conn(timeout)
        try:
            c.request("GET", path, headers={**auth_headers(self.token), **(headers or {})})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def get_json(self, path: str, **kw: Any) -> tuple[int, Any]:
        code, _, body = self.get(path, **kw)
        return code, json.loads(body)

    def stream(self, path: str) -> "RawStream":
        """Open a raw HTTP/1.1 request (for watches) and read the response head."""
        sock = socket.create_connection((self.host, self.info["port"]), timeout=5)
        if not self.info["plain_http"]:
            sock = tls_context(self.info, self.cert).wrap_socket(sock, server_hostname=self.host)
        head = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        for k, v in auth_headers(self.token).items():
            head += f"{k}: {v}\r\n"
        sock.sendall((head + "\r\n").encode())
        s = RawStream(sock)
        s.read_head()
        return s


class RawStream:
    """Reads an HTTP/1.1 response chunk by chunk and tells EOF from the last chunk."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf = sock, b""
        self.status = 0
        self.headers: dict[str, str] = {}

    def _fill(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ssl.SSLEOFError, ConnectionResetError):
            data = b""
        if not data:
            return False
        self.buf += data
        return True

    def _need(self, pred: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no data")
            if not self._fill(left):
                raise EOFError("connection closed")

    def read_head(self) -> None:
        self._need(lambda: b"\r\n\r\n" in self.buf, 5)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in
                        (ln.split(":", 1) for ln in lines[1:])}

    def chunk(self, timeout: float = 3.0) -> Optional[bytes]:
        """The next chunk's data; None for the terminating chunk; EOFError if cut off."""
        self._need(lambda: b"\r\n" in self.buf, timeout)
        size_line, rest = self.buf.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        self._need(lambda: len(self.buf) >= len(size_line) + 2 + size + 2, timeout)
        data = rest[:size]
        self.buf = rest[size + 2:]
        return data if size else None

    def event(self, timeout: float = 3.0) -> Optional[dict[str, Any]]:
        """The next chunk as one JSON event line (None at the clean end)."""
        data = self.chunk(timeout)
        if data is None:
            return None
        assert data.endswith(b"\n") and data.count(b"\n") == 1, f"not one line per chunk: {data!r}"
        return json.loads(data)

    def events_until_end(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        out = []
        while True:
            ev = self.event(timeout)
            if ev is None:
                return out
            out.append(ev)

    def body(self, timeout: float = 3.0) -> bytes:
        n = int(self.headers["content-length"])
        self._need(lambda: len(self.buf) >= n, timeout)
        return self.buf[:n]

    def eof(self, timeout: float = 2.0) -> bool:
        """True if the peer closes the connection within timeout (and sends nothing more)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not self._fill(deadline - time.monotonic()):
                    return True
            except (TimeoutError, socket.timeout):
                return False
        return False

    def close(self) -> None:
        self.sock.close()


class Control:
    def __init__(self, info: dict[str, Any]) -> None:
        self.port = info["control_port"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            data = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=data, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        code, out = self.call(method, path, body)
        assert code in (200, 201), f"{method} {path}: {code} {out}"
        return out

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.ok("POST", "/control/objects", obj)["object"]

    def delete(self, kind: str, ns: str, name: str) -> dict[str, Any]:
        return self.ok("DELETE", f"/control/objects/{kind}/{ns}/{name}")["object"]

    def fault(self, **spec: Any) -> None:
        self.ok("POST", "/control/faults", spec)

    def stats(self) -> dict[str, Any]:
        return self.ok("GET", "/control/stats")

    def wait_watches(self, n: int, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats()["active_watches_total"] == n:
                return
            time.sleep(0.02)
        raise AssertionError(f"active watches: {self.stats()['active_watches_total']}, want {n}")


def svc(name: str, ns: str = "default", labels: Optional[dict[str, str]] = None,
        ip: str = "10.96.0.10") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labels is not None:
        meta["labels"] = labels
    return {"kind": "Service", "apiVersion": "v1", "metadata": meta,
            "spec": {"clusterIP": ip, "ports": [{"port": 80, "protocol": "TCP"}]}}


def names(items: list[dict[str, Any]]) -> list[str]:
    return [f"{i['metadata'].get('namespace', '')}/{i['metadata']['name']}" for i in items]


def q(**params: Any) -> str:
    return "?" + urllib.parse.urlencode(params)


# -- the shared server ---------------------------------------------------------


class FakeTest(unittest.TestCase):
    """One in-process server for the class; every test starts from a reset."""

    fake: FakeAPIServer
    info: dict[str, Any]
    tmp: tempfile.TemporaryDirectory  # type: ignore[type-arg]
    plain_http = False

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="fake-apiserver-test-")
        cls.fake = FakeAPIServer(dir=cls.tmp.name, token=TOKEN, bookmark_interval=0.2,
                                 plain_http=cls.plain_http, extra_sans=["10.20.30.40", "api.example"])
        cls.info = cls.fake.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.fake.stop()
        cls.tmp.cleanup()

    def setUp(self) -> None:
        self.ctl = Control(self.info)
        self.ctl.ok("POST", "/control/reset")
        self.ctl.ok("POST", "/control/config", {"bookmark_interval": 0.2, "watch_list": "supported",
                                                "rv0_paginates": False, "cache_lag": 0})
        self.api = Api(self.info)
        self.streams: list[RawStream] = []

    def tearDown(self) -> None:
        for s in self.streams:
            s.close()

    def watch(self, path: str, api: Optional[Api] = None) -> RawStream:
        s = (api or self.api).stream(path)
        self.streams.append(s)
        return s

    def assert_status(self, body: Any, code: int, reason: str) -> None:
        self.assertEqual(body["kind"], "Status")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertEqual(body["status"], "Failure")
        self.assertEqual(body["code"], code)
        self.assertEqual(body["reason"], reason)
        self.assertIn("metadata", body)
        self.assertIsInstance(body["message"], str)


class TestTransportAndAuth(FakeTest):
    def test_c01_https_with_generated_ca_and_sans(self) -> None:
        # The serving cert verifies against the generated CA, by IP and by name.
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host=host):
                code, _, _ = Api(self.info, host=host).get("/healthz")
                self.assertEqual(code, 200)
        with socket.create_connection(("127.0.0.1", self.info["port"])) as raw:
            with tls_context(self.info).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                cert = tls.getpeercert()
                self.assertEqual(tls.selected_alpn_protocol(), None)
        sans = {(t, str(ipaddress.ip_address(v.strip())) if t == "IP Address" else v)
                for t, v in cert["subjectAltName"]}
        for want in [("IP Address", "127.0.0.1"), ("IP Address", "::1"), ("DNS", "localhost"),
                     ("IP Address", "10.20.30.40"), ("DNS", "api.example"),
                     ("DNS", "kubernetes.default.svc")]:
            with self.subTest(san=want):
                self.assertIn(want, sans)
        # A plain-HTTP request to the TLS port gets no HTTP answer.
        with socket.create_connection(("127.0.0.1", self.info["port"]), timeout=3) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = raw.recv(100)
            except ConnectionResetError:
                answer = b""
            self.assertFalse(answer.startswith(b"HTTP/1.1 200"))

    def test_c02_bearer_token_auth(self) -> None:
        code, body = self.api.get_json("/api/v1/services")
        self.assertEqual(code, 200, body)
        self.assertEqual(body["kind"], "ServiceList")
        log = self.ctl.ok("GET", "/control/requests")["requests"]
        self.assertEqual(log[-1]["user"], "token")

    def test_c03_client_certificate_auth(self) -> None:
        code, body = Api(self.info, token=None, cert=True).get_json("/api/v1/nodes")
        self.assertEqual(code, 200, body)
        self.assertEqual(body["kind"], "NodeList")
        log = self.ctl.ok("GET", "/control/requests")["requests"]
        self.assertEqual(log[-1]["user"], "cert:system:kube-proxy")
        # A valid cert wins over a wrong token, as with the real union authenticator.
        code, _ = Api(self.info, token="wrong", cert=True).get_json("/api/v1/nodes")
        self.assertEqual(code, 200)

    def test_c04_unauthenticated_is_401_status(self) -> None:
        for name, token in [("no credentials", None), ("wrong token", "nope"),
                            ("empty token", "")]:
            with self.subTest(name):
                code, body = Api(self.info, token=token).get_json("/api/v1/services")
                self.assertEqual(code, 401)
                self.assert_status(body, 401, "Unauthorized")
        code, _, _ = self.api.get("/api/v1/services", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        self.assertEqual(code, 401)
        self.assertEqual(self.ctl.stats()["auth_failures"], 4)
        # A client certificate from another CA fails the TLS handshake.
        with tempfile.TemporaryDirectory() as d:
            ca = certs.make_ca(d, "rogue", "rogue-ca")
            crt, key = certs.issue(d, ca, "rogue-client", "/CN=intruder", "client")
            ctx = tls_context(self.info)
            ctx.load_cert_chain(crt, key)
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                with socket.create_connection(("127.0.0.1", self.info["port"]), timeout=3) as raw:
                    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        tls.sendall(b"GET /api/v1/services HTTP/1.1\r\nHost: x\r\n\r\n")
                        if not tls.recv(100):  # TLS 1.3: the alert comes after the handshake
                            raise ConnectionError("closed")

    def test_c05_health_and_version_are_public(self) -> None:
        anon = Api(self.info, token=None)
        for path in ("/healthz", "/readyz", "/livez"):
            with self.subTest(path):
                code, _, body = anon.get(path)
                self.assertEqual((code, body), (200, b"ok"))
        code, body = anon.get_json("/version")
        self.assertEqual(code, 200)
        self.assertEqual((body["major"], body["minor"]), ("1", "29"))
        self.assertTrue(body["gitVersion"].startswith("v1.29"))


class TestList(FakeTest):
    def test_c06_list_shape_and_order(self) -> None:
        for ns, name in [("b", "x"), ("a", "z"), ("a", "y"), ("a-b", "w")]:
            self.ctl.put(svc(name, ns))
        self.ctl.put({"kind": "Node", "metadata": {"name": "node-1"}})
        self.ctl.put({"kind": "EndpointSlice", "metadata": {"name": "x-abc", "namespace": "b",
                      "labels": {"kubernetes.io/service-name": "x"}}, "addressType": "IPv4",
                      "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"port": 80}]})
        rv = self.ctl.stats()["resourceVersion"]
        cases = [
            ("/api/v1/services", "ServiceList", "v1", ["a-b/w", "a/y", "a/z", "b/x"]),
            ("/api/v1/nodes", "NodeList", "v1", ["/node-1"]),
            ("/apis/discovery.k8s.io/v1/endpointslices", "EndpointSliceList",
             "discovery.k8s.io/v1", ["b/x-abc"]),
        ]
        for path, kind, api_version, want in cases:
            with self.subTest(path):
                code, hdrs, raw = self.api.get(path)
                self.assertEqual(code, 200)
                self.assertEqual(hdrs["content-type"], "application/json")
                body = json.loads(raw)
                self.assertEqual((body["kind"], body["apiVersion"]), (kind, api_version))
                self.assertEqual(body["metadata"], {"resourceVersion": rv})
                self.assertEqual(names(body["items"]), want)
                for item in body["items"]:
                    self.assertNotIn("kind", item)
                    self.assertNotIn("apiVersion", item)
                    self.assertIsInstance(item["metadata"]["resourceVersion"], str)
        # Cluster-scoped objects have no namespace; an empty collection is [] not null.
        _, body = self.api.get_json("/api/v1/nodes")
        self.assertNotIn("namespace", body["items"][0]["metadata"])
        self.ctl.ok("POST", "/control/reset")
        self.assertEqual(self.api.get_json("/api/v1/nodes")[1]["items"], [])

    def test_c07_namespaced_paths_get_and_404(self) -> None:
        self.ctl.put(svc("web", "prod"))
        self.ctl.put(svc("web", "dev"))
        self.ctl.put({"kind": "Node", "metadata": {"name": "n1"}})
        _, body = self.api.get_json("/api/v1/namespaces/prod/services")
        self.assertEqual(names(body["items"]), ["prod/web"])
        code, obj = self.api.get_json("/api/v1/namespaces/dev/services/web")
        self.assertEqual(code, 200)
        self.assertEqual((obj["kind"], obj["apiVersion"]), ("Service", "v1"))
        self.assertEqual(obj["metadata"]["namespace"], "dev")
        code, obj = self.api.get_json("/api/v1/nodes/n1")
        self.assertEqual((code, obj["kind"]), (200, "Node"))
        code, body = self.api.get_json("/api/v1/namespaces/dev/services/nope")
        self.assert_status(body, 404, "NotFound")
        self.assertEqual(body["message"], 'services "nope" not found')
        self.assertEqual(body["details"], {"name": "nope", "kind": "services"})
        code, body = self.api.get_json("/apis/discovery.k8s.io/v1/namespaces/dev/endpointslices/x")
        self.assert_status(body, 404, "NotFound")
        self.assertEqual(body["details"]["group"], "discovery.k8s.io")
        for path in ("/api/v1/pods", "/apis/apps/v1/deployments", "/api/v1/services/web",
                     "/nonsense"):
            with self.subTest(path):
                code, body = self.api.get_json(path)
                self.assert_status(body, 404, "NotFound")
        c = self.api.conn()
        c.request("POST", "/api/v1/namespaces/dev/services", body=b"{}", headers=auth_headers(TOKEN))
        r = c.getresponse()
        self.assert_status(json.loads(r.read()), 405, "MethodNotAllowed")
        c.close()
        code, body = self.api.get_json("/api/v1/services",
                                       headers={"Accept": "application/vnd.kubernetes.protobuf"})
        self.assert_status(body, 406, "NotAcceptable")
        code, body = self.api.get_json("/api/v1/services", headers={
            "Accept": "application/vnd.kubernetes.protobuf, application/json"})
        self.assertEqual(code, 200)

    def test_c08_paging_is_a_consistent_snapshot(self) -> None:
        for ns, name in [("a", "1"), ("a", "2"), ("b", "3"), ("b", "4"), ("c", "5")]:
            self.ctl.put(svc(name, ns))
        _, p1 = self.api.get_json("/api/v1/services" + q(limit=2))
        rv = p1["metadata"]["resourceVersion"]
        self.assertEqual(names(p1["items"]), ["a/1", "a/2"])
        self.assertEqual(p1["metadata"]["remainingItemCount"], 3)
        # Changes after the first page are not visible in later pages.
        self.ctl.delete("Service", "b", "3")
        self.ctl.put(svc("35", "b"))
        self.ctl.put(svc("4", "b", labels={"changed": "yes"}))
        _, p2 = self.api.get_json("/api/v1/services" + q(limit=2, **{"continue": p1["metadata"]["continue"]}))
        self.assertEqual(names(p2["items"]), ["b/3", "b/4"])
        self.assertNotIn("labels", p2["items"][1]["metadata"])
        self.assertEqual(p2["metadata"]["resourceVersion"], rv)
        self.assertEqual(p2["metadata"]["remainingItemCount"], 1)
        _, p3 = self.api.get_json("/api/v1/services" + q(limit=2, **{"continue": p2["metadata"]["continue"]}))
        self.assertEqual(names(p3["items"]), ["c/5"])
        self.assertEqual(p3["metadata"], {"resourceVersion": rv})
        # A fresh list sees the changes; paging within a namespace; limit=0 is no limit.
        _, now = self.api.get_json("/api/v1/services" + q(limit=0))
        self.assertEqual(names(now["items"]), ["a/1", "a/2", "b/35", "b/4", "c/5"])
        self.assertGreater(int(now["metadata"]["resourceVersion"]), int(rv))
        _, nsp = self.api.get_json("/api/v1/namespaces/b/services" + q(limit=1))
        self.assertEqual((names(nsp["items"]), nsp["metadata"]["remainingItemCount"]), (["b/35"], 1))
        # With a selector, remainingItemCount is not given (the real server cannot count).
        _, sel = self.api.get_json("/api/v1/services" + q(limit=1, labelSelector="!changed"))
        self.assertIn("continue", sel["metadata"])
        self.assertNotIn("remainingItemCount", sel["metadata"])
        _, sel2 = self.api.get_json("/api/v1/services" + q(limit=10, labelSelector="!changed",
                                                             **{"continue": sel["metadata"]["continue"]}))
        self.assertEqual(names(sel2["items"]), ["a/2", "b/35", "c/5"])

    def test_c09_expired_continue_is_410(self) -> None:
        for i in range(3):
            self.ctl.put(svc(f"s{i}"))
        _, p1 = self.api.get_json("/api/v1/services" + q(limit=1))
        self.ctl.ok("POST", "/control/compact")
        code, body = self.api.get_json("/api/v1/services" + q(limit=1, **{"continue": p1["metadata"]["continue"]}))
        self.assertEqual(code, 410)
        self.assertEqual(set(body), {"kind", "apiVersion", "metadata", "status", "message", "reason", "code"})
        self.assert_status(body, 410, "Expired")
        self.assertEqual(body["metadata"], {})
        self.assertTrue(body["message"].startswith("The provided continue parameter is too old"))

    def test_c10_bad_continue_and_continue_with_rv_are_400(self) -> None:
        self.ctl.put(svc("a"))
        self.ctl.put(svc("b"))
        _, p1 = self.api.get_json("/api/v1/services" + q(limit=1))
        token = p1["metadata"]["continue"]
        cases = [
            ("garbage token", {"continue": "not-a-token!!"}, 400, "BadRequest"),
            ("foreign json", {"continue": base64.urlsafe_b64encode(b'{"x":1}').decode()}, 400, "BadRequest"),
            ("continue with resourceVersion", {"continue": token, "resourceVersion": "5"}, 400, "BadRequest"),
            ("continue with match", {"continue": token, "resourceVersionMatch": "Exact"}, 422, "Invalid"),
        ]
        for name, params, code, reason in cases:
            with self.subTest(name):
                got, body = self.api.get_json("/api/v1/services" + q(**params))
                self.assertEqual(got, code, body)
                self.assert_status(body, code, reason)
        # resourceVersion=0 with continue is accepted, as by the real server.
        got, _ = self.api.get_json("/api/v1/services" + q(**{"continue": token, "resourceVersion": "0"}))
        self.assertEqual(got, 200)

    def test_c11_list_resource_version_semantics(self) -> None:
        self.ctl.put(svc("s0"))
        a = int(self.ctl.put(svc("s1"))["metadata"]["resourceVersion"])
        b = int(self.ctl.put(svc("s2"))["metadata"]["resourceVersion"])
        c = int(self.ctl.delete("Service", "default", "s1")["metadata"]["resourceVersion"])
        cases = [
            # name, params, code, items, list RV
            ("unset = most recent", {}, 200, ["default/s0", "default/s2"], c),
            ("0 = any, limit ignored", {"resourceVersion": "0", "limit": "1"}, 200,
             ["default/s0", "default/s2"], c),
            ("N not older than", {"resourceVersion": str(a)}, 200, ["default/s0", "default/s2"], c),
            ("N NotOlderThan", {"resourceVersion": str(a), "resourceVersionMatch": "NotOlderThan"},
             200, ["default/s0", "default/s2"], c),
            ("N Exact", {"resourceVersion": str(a), "resourceVersionMatch": "Exact"}, 200,
             ["default/s0", "default/s1"], a),
            ("N with limit is Exact", {"resourceVersion": str(b), "limit": "5"}, 200,
             ["default/s0", "default/s1", "default/s2"], b),
            ("future RV", {"resourceVersion": str(c + 100)}, 504, None, None),
            ("future RV Exact", {"resourceVersion": str(c + 1), "resourceVersionMatch": "Exact"}, 504, None, None),
            ("match without RV", {"resourceVersionMatch": "Exact"}, 422, None, None),
            ("Exact with 0", {"resourceVersion": "0", "resourceVersionMatch": "Exact"}, 422, None, None),
            ("unknown match", {"resourceVersion": "1", "resourceVersionMatch": "Newest"}, 422, None, None),
            ("bad RV", {"resourceVersion": "abc"}, 400, None, None),
        ]
        for name, params, code, items, rv in cases:
            with self.subTest(name):
                got, body = self.api.get_json("/api/v1/services" + q(**params))
                self.assertEqual(got, code, body)
                if code == 200:
                    self.assertEqual(names(body["items"]), items)
                    self.assertEqual(body["metadata"]["resourceVersion"], str(rv))
                    self.assertNotIn("continue", body["metadata"])
                else:
                    self.assertEqual(body["code"], code)
        _, body = self.api.get_json("/api/v1/services" + q(resourceVersion=str(c + 100)))
        self.assert_status(body, 504, "Timeout")
        self.assertEqual(body["details"]["causes"][0]["reason"], "ResourceVersionTooLarge")
        self.ctl.ok("POST", "/control/compact")
        got, body = self.api.get_json("/api/v1/services" + q(resourceVersion=str(a), resourceVersionMatch="Exact"))
        self.assert_status(body, 410, "Expired")


class TestWatch(FakeTest):
    def test_c12_watch_is_chunked_json_lines(self) -> None:
        for watch_param in ("1", "true"):
            with self.subTest(watch=watch_param):
                self.ctl.ok("POST", "/control/reset")
                rv = self.ctl.stats()["resourceVersion"]
                w = self.watch("/api/v1/services" + q(watch=watch_param, resourceVersion=rv))
                self.assertEqual(w.status, 200)
                self.assertEqual(w.headers["transfer-encoding"], "chunked")
                self.assertEqual(w.headers["content-type"], "application/json")
                self.ctl.wait_watches(1)
                created = self.ctl.put(svc("web", "prod"))
                self.ctl.put(svc("web", "prod", ip="10.96.0.11"))
                self.ctl.delete("Service", "prod", "web")
                evs = [w.event(), w.event(), w.event()]
                self.assertEqual([e["type"] for e in evs], ["ADDED", "MODIFIED", "DELETED"])
                for e in evs:
                    self.assertEqual((e["object"]["kind"], e["object"]["apiVersion"]), ("Service", "v1"))
                    self.assertEqual(e["object"]["metadata"]["uid"], created["metadata"]["uid"])
                rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
                self.assertEqual(rvs, sorted(rvs))
                self.assertEqual(evs[1]["object"]["spec"]["clusterIP"], "10.96.0.11")
                w.close()
        # EndpointSlices and Nodes watch the same way; so does the legacy /watch/ path.
        w = self.watch("/apis/discovery.k8s.io/v1/watch/namespaces/x/endpointslices")
        w2 = self.watch("/api/v1/nodes?watch=1")
        self.ctl.wait_watches(2)
        self.ctl.put({"kind": "EndpointSlice", "metadata": {"name": "e", "namespace": "x"}, "addressType": "IPv4"})
        self.ctl.put({"kind": "Node", "metadata": {"name": "n"}})
        ev = w.event()
        self.assertEqual((ev["type"], ev["object"]["kind"], ev["object"]["apiVersion"]),
                         ("ADDED", "EndpointSlice", "discovery.k8s.io/v1"))
        self.assertEqual(w2.event()["object"]["kind"], "Node")

    def test_c13_watch_replays_history_after_rv(self) -> None:
        start = self.ctl.stats()["resourceVersion"]
        self.ctl.put(svc("a"))
        mid = self.ctl.put(svc("b"))["metadata"]["resourceVersion"]
        self.ctl.put(svc("a", labels={"x": "y"}))
        self.ctl.put({"kind": "Node", "metadata": {"name": "n"}})  # another resource: not replayed
        self.ctl.delete("Service", "default", "b")
        for name, rv, want in [("from start", start, ["ADDED a", "ADDED b", "MODIFIED a", "DELETED b"]),
                               ("from middle", mid, ["MODIFIED a", "DELETED b"])]:
            with self.subTest(name):
                w = self.watch("/api/v1/services" + q(watch=1, resourceVersion=rv))
                got = [w.event() for _ in want]
                self.assertEqual([f"{e['type']} {e['object']['metadata']['name']}" for e in got], want)
                with self.assertRaises(TimeoutError):
                    w.event(timeout=0.3)
                w.close()
        # From a future RV: nothing up to that RV, everything after it.
        now = int(self.ctl.stats()["resourceVersion"])
        w = self.watch("/api/v1/services" + q(watch=1, resourceVersion=now + 2))
        self.ctl.wait_watches(1)
        for name in ("f1", "f2", "f3"):
            self.ctl.put(svc(name))
        self.assertEqual(w.event()["object"]["metadata"]["name"], "f3")

    def test_c14_watch_without_rv_starts_with_synthetic_added(self) -> None:
        self.ctl.put(svc("b"))
        self.ctl.put(svc("a"))
        self.ctl.put(svc("c", "other"))
        for name, params in [("unset", {}), ("zero", {"resourceVersion": "0"})]:
            with self.subTest(name):
                w = self.watch("/api/v1/namespaces/default/services" + q(watch=1, **params))
                evs = [w.event(), w.event()]
                self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                                 [("ADDED", "a"), ("ADDED", "b")])
                with self.assertRaises(TimeoutError):
                    w.event(timeout=0.3)
                self.ctl.put(svc("d"))
                self.assertEqual(w.event()["object"]["metadata"]["name"], "d")
                self.ctl.delete("Service", "default", "d")
                self.assertEqual(w.event()["type"], "DELETED")

    def test_c15_too_old_watch_rv_is_200_with_error_event(self) -> None:
        old = self.ctl.put(svc("a"))["metadata"]["resourceVersion"]
        self.ctl.put(svc("b"))
        self.ctl.ok("POST", "/control/compact")
        w = self.watch("/api/v1/services" + q(watch=1, resourceVersion=old))
        self.assertEqual(w.status, 200)
        ev = w.event()
        self.assertEqual(ev["type"], "ERROR")
        self.assert_status(ev["object"], 410, "Expired")
        self.assertIn("too old resource version", ev["object"]["message"])
        self.assertIsNone(w.event())  # then the stream ends cleanly
        # The current RV (the compaction point) is still fine.
        rv = self.ctl.stats()["resourceVersion"]
        w2 = self.watch("/api/v1/services" + q(watch=1, resourceVersion=rv))
        self.ctl.wait_watches(1)
        self.ctl.put(svc("c"))
        self.assertEqual(w2.event()["type"], "ADDED")

    def test_c16_bookmarks_only_when_asked(self) -> None:
        self.ctl.put(svc("a"))
        rv = self.ctl.stats()["resourceVersion"]
        w = self.watch("/api/v1/services" + q(watch=1, resourceVersion=rv, allowWatchBookmarks="true"))
        ev = w.event(timeout=2)
        self.assertEqual(ev, {"type": "BOOKMARK", "object": {
            "kind": "Service", "apiVersion": "v1", "metadata": {"resourceVersion": rv}}})
        # A later bookmark carries the newer RV, after the event that produced it.
        self.ctl.put({"kind": "Node", "metadata": {"name": "n"}})
        newer = self.ctl.stats()["resourceVersion"]
        ev = w.event(timeout=2)
        while ev["object"]["metadata"]["resourceVersion"] != newer:
            self.assertEqual(ev["type"], "BOOKMARK")
            ev = w.event(timeout=2)
        self.assertEqual(ev["type"], "BOOKMARK")
        # None without allowWatchBookmarks (or with it false), at the same 0.2 s interval.
        for name, params in [("absent", {}), ("false", {"allowWatchBookmarks": "false"})]:
            with self.subTest(name):
                plain = self.watch("/api/v1/services" + q(watch=1, resourceVersion=rv, **params))
                with self.assertRaises(TimeoutError):
                    plain.event(timeout=0.7)
        # The interval is configurable.
        self.ctl.ok("POST", "/control/config", {"bookmark_interval": 5})
        slow = self.watch("/api/v1/services" + q(watch=1, resourceVersion=rv, allowWatchBookmarks="true"))
        with self.assertRaises(TimeoutError):
            slow.event(timeout=0.7)

    def test_c17_timeout_seconds_ends_cleanly(self) -> None:
        t0 = time.monotonic()
        w = self.watch("/api/v1/services" + q(watch=1, timeoutSeconds=1))
        self.assertIsNone(w.event(timeout=3))
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 2.5)
        self.ctl.wait_watches(0)
        # HTTP/1.1 keep-alive: the same connection serves another request.
        w.sock.sendall(f"GET /api/v1/nodes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        w.read_head()
        self.assertEqual(w.status, 200)
        self.assertEqual(json.loads(w.body())["kind"], "NodeList")
        # timeoutSeconds=0 is no timeout (the real server picks a long one).
        w0 = self.watch("/api/v1/services" + q(watch=1, timeoutSeconds=0))
        with self.assertRaises(TimeoutError):
            w0.event(timeout=1.2)

    def test_c21_selector_transitions_in_watch(self) -> None:
        rv = self.ctl.stats()["resourceVersion"]
        w = self.watch("/api/v1/services" + q(watch=1, resourceVersion=rv, labelSelector="app=web"))
        self.ctl.put(svc("x", labels={"app": "web"}))
        self.ctl.put(svc("y", labels={"app": "db"}))  # never matches
        moved = self.ctl.put(svc("x", labels={"app": "db"}))
        self.ctl.put(svc("x", labels={"app": "web"}))
        self.ctl.put(svc("x", labels={"app": "web"}, ip="10.96.0.99"))
        self.ctl.put(svc("y", labels={"app": "db", "z": "1"}))
        self.ctl.delete("Service", "default", "x")
        evs = [w.event() for _ in range(5)]
        self.assertEqual([e["type"] for e in evs], ["ADDED", "DELETED", "ADDED", "MODIFIED", "DELETED"])
        self.assertEqual({e["object"]["metadata"]["name"] for e in evs}, {"x"})
        # Leaving the selector: the previous state, stamped with the event's RV.
        self.assertEqual(evs[1]["object"]["metadata"]["labels"], {"app": "web"})
        self.assertEqual(evs[1]["object"]["metadata"]["resourceVersion"], moved["metadata"]["resourceVersion"])
        with self.assertRaises(TimeoutError):
            w.event(timeout=0.3)
        # A field selector on the name works the same way (what kipvs uses for its Node).
        wn = self.watch("/api/v1/nodes" + q(watch=1, fieldSelector="metadata.name=me"))
        self.ctl.put({"kind": "Node", "metadata": {"name": "other"}})
        self.ctl.put({"kind": "Node", "metadata": {"name": "me"}})
        self.assertEqual(wn.event()["object"]["metadata"]["name"], "me")

    def test_c35_many_concurrent_watches(self) -> None:
        ws = [self.watch("/api/v1/services" + q(watch=1)) for _ in range(20)]
        self.ctl.wait_watches(20)
        self.ctl.put(svc("all"))
        for i, w in enumerate(ws):
            with self.subTest(watch=i):
                self.assertEqual(w.event()["object"]["metadata"]["name"], "all")

    def test_c42_keepalive_requests_are_fast(self) -> None:
        # 100 small LIST pages on one keep-alive connection: no Nagle/delayed-ACK stall
        # (40 ms a response without TCP_NODELAY), so a client paging with a small limit syncs fast.
        for i in range(100):
            self.ctl.put(svc(f"s{i:03d}"))
        c = self.api.conn()
        t0 = time.monotonic()
        cont, pages = None, 0
        try:
            while True:
                params: dict[str, Any] = {"limit": 1}
                if cont:
                    params["continue"] = cont
                c.request("GET", "/api/v1/services" + q(**params), headers=auth_headers(TOKEN))
                body = json.loads(c.getresponse().read())
                pages += 1
                cont = body["metadata"].get("continue")
                if not cont:
                    break
        finally:
            c.close()
        self.assertEqual(pages, 100)
        self.assertLess(time.monotonic() - t0, 2.0)

    def test_c40_send_initial_events_streaming_list(self) -> None:
        self.ctl.put(svc("a"))
        self.ctl.put(svc("b"))
        rv = self.ctl.stats()["resourceVersion"]
        w = self.watch("/api/v1/services" + q(watch=1, sendInitialEvents="true", allowWatchBookmarks="true",
                                              resourceVersionMatch="NotOlderThan"))
        evs = [w.event(), w.event(), w.event()]
        self.assertEqual([e["type"] for e in evs], ["ADDED", "ADDED", "BOOKMARK"])
        self.assertEqual(evs[2]["object"]["metadata"], {
            "resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}})
        got, body = self.api.get_json("/api/v1/services" + q(watch=1, sendInitialEvents="true"))
        self.assertEqual(got, 422)
        self.assert_status(body, 422, "Invalid")

    def test_c43_older_servers_and_the_streaming_list(self) -> None:
        self.ctl.put(svc("a"))
        rv = self.ctl.stats()["resourceVersion"]
        params = dict(watch=1, sendInitialEvents="true", allowWatchBookmarks="true",
                      resourceVersionMatch="NotOlderThan")
        # "ignored": a plain watch from the given RV: no initial events, no end bookmark.
        self.ctl.ok("POST", "/control/config", {"watch_list": "ignored"})
        w = self.watch("/api/v1/services" + q(resourceVersion=rv, **params))
        self.ctl.put(svc("b"))
        ev = w.event()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "b"))
        ev = w.event()
        self.assertEqual(ev["type"], "BOOKMARK")
        self.assertNotIn("annotations", ev["object"]["metadata"])
        # Without an RV that plain watch starts with synthetic ADDED events (C14), still no
        # end bookmark.
        w = self.watch("/api/v1/services" + q(**params))
        evs = [w.event(), w.event(), w.event()]
        self.assertEqual([e["type"] for e in evs], ["ADDED", "ADDED", "BOOKMARK"])
        self.assertNotIn("annotations", evs[2]["object"]["metadata"])
        # "refused": the WatchList gate is off.
        self.ctl.ok("POST", "/control/config", {"watch_list": "refused"})
        got, body = self.api.get_json("/api/v1/services" + q(**params))
        self.assertEqual(got, 422)
        self.assert_status(body, 422, "Invalid")
        self.assertIn("WatchList feature gate", body["message"])

    def test_c44_resource_version_0_paging_and_lag(self) -> None:
        for i in range(3):
            self.ctl.put(svc(f"s{i}"))
        self.ctl.ok("POST", "/control/config", {"rv0_paginates": True})
        code, body = self.api.get_json("/api/v1/services" + q(resourceVersion=0, limit=2))
        self.assertEqual(code, 200, body)
        self.assertEqual(len(body["items"]), 2)
        self.assertIn("continue", body["metadata"])
        rv = int(self.ctl.stats()["resourceVersion"])
        self.ctl.ok("POST", "/control/config", {"rv0_paginates": False, "cache_lag": 1})
        code, body = self.api.get_json("/api/v1/services" + q(resourceVersion=0))
        self.assertEqual(code, 200, body)
        self.assertEqual((body["metadata"]["resourceVersion"], names(body["items"])),
                         (str(rv - 1), ["default/s0", "default/s1"]))
        code, body = self.api.get_json("/api/v1/services")
        self.assertEqual(body["metadata"]["resourceVersion"], str(rv))

    def test_c45_fault_limited_by_query(self) -> None:
        for i in range(3):
            self.ctl.put(svc(f"s{i}"))
        self.ctl.fault(fault="status", verb="list", code=410, query={"continue": "*"})
        code, body = self.api.get_json("/api/v1/services" + q(limit=1))
        self.assertEqual(code, 200, body)
        code, body = self.api.get_json("/api/v1/services" + q(limit=1,
                                                              **{"continue": body["metadata"]["continue"]}))
        self.assertEqual(code, 410)
        self.assert_status(body, 410, "Expired")
        self.assertEqual(self.ctl.stats()["faults_applied"], 1)


class TestSelectors(FakeTest):
    def setUp(self) -> None:
        super().setUp()
        for name, ns, labels in [("a", "ns1", {"app": "web", "tier": "front"}),
                                 ("b", "ns1", {"app": "db", "tier": "back"}),
                                 ("c", "ns2", {"app": "web"}),
                                 ("d", "ns2", {}),
                                 ("e", "ns3", {"version": "3", "example.com/role": "x"})]:
            self.ctl.put(svc(name, ns, labels))

    def _names(self, **params: str) -> list[str]:
        code, body = self.api.get_json("/api/v1/services" + q(**params))
        self.assertEqual(code, 200, body)
        return [i["metadata"]["name"] for i in body["items"]]

    def test_c18_label_selectors(self) -> None:
        cases = [
            ("empty", "", "abcde"),
            ("equals", "app=web", "ac"),
            ("double equals", "app==web", "ac"),
            ("not equals includes missing", "app!=web", "bde"),
            ("exists", "tier", "ab"),
            ("not exists", "!tier", "cde"),
            ("in", "app in (web,db)", "abc"),
            ("in with spaces", "app in ( db , web )", "abc"),
            ("notin includes missing", "app notin (web)", "bde"),
            ("and", "app=web,tier=front", "a"),
            ("and with not exists", "app=web,!tier", "c"),
            ("prefixed key", "example.com/role=x", "e"),
            ("greater than", "version>2", "e"),
            ("less than", "version<2", ""),
            ("spaces around", " app = web ", "ac"),
            ("kube-proxy's selector", "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name",
             "abcde"),
            ("empty value", "app=", ""),
        ]
        for name, sel, want in cases:
            with self.subTest(name, selector=sel):
                self.assertEqual("".join(self._names(labelSelector=sel)), want)

    def test_c19_field_selectors(self) -> None:
        cases = [
            ("name", "metadata.name=a", "a"),
            ("name ==", "metadata.name==c", "c"),
            ("name !=", "metadata.name!=a", "bcde"),
            ("namespace", "metadata.namespace=ns2", "cd"),
            ("namespace !=", "metadata.namespace!=ns2", "abe"),
            ("and", "metadata.namespace=ns1,metadata.name!=a", "b"),
            ("no match", "metadata.name=zzz", ""),
        ]
        for name, sel, want in cases:
            with self.subTest(name, selector=sel):
                self.assertEqual("".join(self._names(fieldSelector=sel)), want)
        self.assertEqual("".join(self._names(fieldSelector="metadata.name=c", labelSelector="app=web")), "c")

    def test_c20_bad_selectors_are_400(self) -> None:
        cases = [
            ("in without parens", {"labelSelector": "app in web"}),
            ("empty set", {"labelSelector": "app in ()"}),
            ("lonely bang", {"labelSelector": "!"}),
            ("two words", {"labelSelector": "app web"}),
            ("trailing comma", {"labelSelector": "app=web,"}),
            ("bad key", {"labelSelector": "-app=web"}),
            ("non-integer gt", {"labelSelector": "version>x"}),
            ("unsupported field", {"fieldSelector": "spec.clusterIP=1.2.3.4"}),
            ("field without operator", {"fieldSelector": "metadata.name"}),
        ]
        for name, params in cases:
            with self.subTest(name, **params):
                code, body = self.api.get_json("/api/v1/services" + q(**params))
                self.assertEqual(code, 400, body)
                self.assert_status(body, 400, "BadRequest")
                code, body = self.api.get_json("/api/v1/services" + q(watch=1, **params))
                self.assertEqual(code, 400, body)


class TestControl(FakeTest):
    def test_c22_create_update_delete(self) -> None:
        code, out = self.ctl.call("POST", "/control/objects", svc("web", "prod"))
        self.assertEqual((code, out["result"]), (201, "created"))
        first = out["object"]
        meta = first["metadata"]
        self.assertEqual(meta["generation"], 1)
        self.assertRegex(meta["uid"], r"^[0-9a-f-]{36}$")
        self.assertRegex(meta["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # A label change: new RV, same uid and creationTimestamp, same generation.
        code, out = self.ctl.call("POST", "/control/objects", svc("web", "prod", labels={"a": "b"}))
        self.assertEqual((code, out["result"]), (200, "updated"))
        m2 = out["object"]["metadata"]
        self.assertEqual((m2["uid"], m2["creationTimestamp"], m2["generation"]),
                         (meta["uid"], meta["creationTimestamp"], 1))
        self.assertGreater(int(m2["resourceVersion"]), int(meta["resourceVersion"]))
        # A spec change bumps generation; a no-op update changes nothing.
        m3 = self.ctl.put(svc("web", "prod", labels={"a": "b"}, ip="10.96.0.77"))["metadata"]
        self.assertEqual(m3["generation"], 2)
        code, out = self.ctl.call("POST", "/control/objects", svc("web", "prod", labels={"a": "b"}, ip="10.96.0.77"))
        self.assertEqual(out["result"], "unchanged")
        self.assertEqual(out["object"]["metadata"]["resourceVersion"], m3["resourceVersion"])
        gone = self.ctl.delete("Service", "prod", "web")
        self.assertGreater(int(gone["metadata"]["resourceVersion"]), int(m3["resourceVersion"]))
        self.assertEqual(self.api.get_json("/api/v1/namespaces/prod/services/web")[0], 404)
        # Nodes are deleted by name; errors are 400/404 with a message.
        self.ctl.put({"kind": "Node", "metadata": {"name": "n1"}})
        self.assertEqual(self.ctl.call("DELETE", "/control/objects/Node/n1")[0], 200)
        for name, method, path, body, want in [
            ("missing object", "DELETE", "/control/objects/services/prod/web", None, 404),
            ("unknown kind", "POST", "/control/objects", {"kind": "Pod", "metadata": {"name": "p"}}, 400),
            ("no name", "POST", "/control/objects", {"kind": "Service", "metadata": {}}, 400),
            ("no kind", "POST", "/control/objects", {"metadata": {"name": "x"}}, 400),
            ("namespaced without namespace", "DELETE", "/control/objects/Service/web", None, 400),
        ]:
            with self.subTest(name):
                code, out = self.ctl.call(method, path, body)
                self.assertEqual(code, want, out)
                self.assertIn("error", out)

    def test_c23_load_a_list(self) -> None:
        out = self.ctl.ok("POST", "/control/load", {"kind": "List", "apiVersion": "v1", "items": [
            svc("a"), svc("b"), {"kind": "Node", "metadata": {"name": "n"}},
            {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
             "metadata": {"name": "a-1", "namespace": "default"}, "addressType": "IPv4"}]})
        self.assertEqual([r["result"] for r in out["results"]], ["created"] * 4)
        rvs = [int(r["object"]["metadata"]["resourceVersion"]) for r in out["results"]]
        self.assertEqual(len(set(rvs)), 4)  # one write, one revision each
        self.assertEqual(len(self.api.get_json("/api/v1/services")[1]["items"]), 2)
        # A typed list (ServiceList, as kubectl get -o json prints it) works too.
        self.ctl.ok("POST", "/control/load", {"kind": "ServiceList", "items": [
            {"metadata": {"name": "c", "namespace": "default"}}]})
        self.assertEqual(len(self.api.get_json("/api/v1/services")[1]["items"]), 3)

    def test_c24_state(self) -> None:
        self.ctl.put(svc("a"))
        self.ctl.put({"kind": "Node", "metadata": {"name": "n"}})
        state = self.ctl.ok("GET", "/control/state")
        self.assertEqual([(o["kind"], o["metadata"]["name"]) for o in state["objects"]],
                         [("Service", "a"), ("Node", "n")])
        self.assertEqual(state["resourceVersion"], self.ctl.stats()["resourceVersion"])
        self.assertIn("compactedResourceVersion", state)

    def test_c25_compact(self) -> None:
        old = self.ctl.put(svc("a"))["metadata"]["resourceVersion"]
        before = self.ctl.ok("GET", "/control/state")["resourceVersion"]
        out = self.ctl.ok("POST", "/control/compact")
        self.assertGreater(int(out["compactedResourceVersion"]), int(before))
        self.assertEqual(self.ctl.ok("GET", "/control/state")["compactedResourceVersion"],
                         out["compactedResourceVersion"])
        w = self.watch("/api/v1/services" + q(watch=1, resourceVersion=old))
        self.assertEqual(w.event()["object"]["code"], 410)
        # Compacting to a given RV keeps what is newer.
        r1 = self.ctl.put(svc("b"))["metadata"]["resourceVersion"]
        r2 = self.ctl.put(svc("c"))["metadata"]["resourceVersion"]
        self.ctl.ok("POST", "/control/compact", {"resourceVersion": r1})
        w = self.watch("/api/v1/services" + q(watch=1, resourceVersion=r1))
        self.assertEqual(w.event()["object"]["metadata"]["resourceVersion"], r2)
        self.assertEqual(self.api.get_json("/api/v1/services" + q(resourceVersion=r1, resourceVersionMatch="Exact"))[0], 200)
        self.assertEqual(self.api.get_json("/api/v1/services" + q(resourceVersion=old, resourceVersionMatch="Exact"))[0], 410)

    def test_c33_reset(self) -> None:
        self.ctl.put(svc("a"))
        self.ctl.fault(fault="status", code=500, count=-1, verb="list")
        rv = int(self.ctl.stats()["resourceVersion"])
        w = self.watch("/api/v1/nodes" + q(watch=1, resourceVersion=str(rv)))
        self.ctl.wait_watches(1)
        out = self.ctl.ok("POST", "/control/reset")
        self.assertIsNone(w.event())  # open watches end cleanly
        self.assertGreater(int(out["resourceVersion"]), rv)  # RVs never go back
        state = self.ctl.ok("GET", "/control/state")
        self.assertEqual(state["objects"], [])
        self.assertEqual(self.ctl.ok("GET", "/control/faults")["faults"], [])
        self.assertEqual(self.api.get_json("/api/v1/services")[0], 200)
        self.assertEqual(self.ctl.stats()["requests"], {"services": {"list": 1}})

    def test_c41_close_watches(self) -> None:
        ws = self.watch("/api/v1/services?watch=1")
        wn = self.watch("/api/v1/nodes?watch=1")
        self.ctl.wait_watches(2)
        self.assertEqual(self.ctl.ok("POST", "/control/watches/close", {"resource": "Service"}), {"closed": 1})
        self.assertIsNone(ws.event())  # ended cleanly
        with self.assertRaises(TimeoutError):
            wn.event(timeout=0.3)
        self.assertEqual(self.ctl.ok("POST", "/control/watches/close"), {"closed": 1})
        self.assertIsNone(wn.event())
        self.assertEqual(self.ctl.call("POST", "/control/watches/close", {"resource": "pods"})[0], 400)

    def test_c34_stats(self) -> None:
        self.api.get_json("/api/v1/services")
        self.api.get_json("/api/v1/services")
        self.api.get_json("/apis/discovery.k8s.io/v1/endpointslices?limit=5")
        self.ctl.put(svc("x"))
        self.api.get_json("/api/v1/namespaces/default/services/x")
        w = self.watch("/api/v1/services?watch=1")
        self.watch("/api/v1/nodes?watch=1")
        self.ctl.wait_watches(2)
        st = self.ctl.stats()
        self.assertEqual(st["requests"], {"services": {"list": 2, "get": 1, "watch": 1},
                                          "endpointslices": {"list": 1}, "nodes": {"watch": 1}})
        self.assertEqual(st["active_watches"], {"services": 1, "nodes": 1})
        # A client that goes away is noticed without any event to send.
        w.close()
        self.ctl.wait_watches(1)
        log = self.ctl.ok("GET", "/control/requests")["requests"]
        self.assertEqual(log[2]["query"], {"limit": "5"})
        self.assertEqual(log[2]["resource"], "endpointslices")
        self.ctl.ok("POST", "/control/stats/reset")
        self.assertEqual(self.ctl.stats()["requests"], {})


class TestFaults(FakeTest):
    def test_c26_status_faults_with_retry_after(self) -> None:
        cases = [("500", 500, None, "InternalError"), ("429 retry", 429, 3, "TooManyRequests"),
                 ("503 retry", 503, 1, "ServiceUnavailable"), ("504", 504, None, "Timeout")]
        for name, code, retry, reason in cases:
            with self.subTest(name):
                spec: dict[str, Any] = {"fault": "status", "code": code, "resource": "services", "verb": "list"}
                if retry is not None:
                    spec["retry_after"] = retry
                self.ctl.fault(**spec)
                got, hdrs, raw = self.api.get("/api/v1/services")
                body = json.loads(raw)
                self.assertEqual(got, code)
                self.assert_status(body, code, reason)
                self.assertEqual(hdrs.get("retry-after"), None if retry is None else str(retry))
                if retry is not None:
                    self.assertEqual(body["details"]["retryAfterSeconds"], retry)
                self.assertEqual(self.api.get("/api/v1/services")[0], 200)  # count 1: used up
        # A watch request can be refused the same way.
        self.ctl.fault(fault="status", code=429, retry_after=1, verb="watch")
        w = self.watch("/api/v1/services?watch=1")
        self.assertEqual((w.status, w.headers["retry-after"]), (429, "1"))
        self.assertEqual(json.loads(w.body())["reason"], "TooManyRequests")

    def test_c27_drop_mid_event(self) -> None:
        self.ctl.put(svc("a"))
        self.ctl.put(svc("b"))
        self.ctl.fault(fault="drop_mid_event", verb="watch", after_events=1)
        w = self.watch("/api/v1/services?watch=1")
        self.assertEqual(w.event()["object"]["metadata"]["name"], "a")
        part = w.chunk()
        assert part is not None
        self.assertFalse(part.endswith(b"\n"))
        self.assertTrue(b'"type":"ADDED"'.startswith(part) or part.startswith(b'{"type":"ADDED"'))
        with self.assertRaises(EOFError):
            w.chunk()  # no terminating chunk: the connection is simply gone
        # On a LIST: a short body, then the connection closes.
        self.ctl.fault(fault="drop_mid_event", verb="list")
        s = self.watch("/api/v1/services")
        self.assertEqual(s.status, 200)
        with self.assertRaises(EOFError):
            s.body()
        self.assertTrue(0 < len(s.buf) < int(s.headers["content-length"]))

    def test_c28_stall(self) -> None:
        self.ctl.put(svc("a"))
        self.ctl.fault(fault="stall", verb="watch", after_events=1)
        w = self.watch("/api/v1/services?watch=1")
        self.assertEqual(w.event()["type"], "ADDED")
        self.ctl.put(svc("b"))
        with self.assertRaises(TimeoutError):
            w.chunk(timeout=0.6)
        self.assertFalse(w.eof(timeout=0.2))  # the socket stays open
        w.close()
        self.ctl.wait_watches(0)  # the stalled handler notices the client left
        # With seconds, the stream resumes afterwards and nothing is lost.
        self.ctl.fault(fault="stall", verb="watch", seconds=0.5)
        w = self.watch("/api/v1/services?watch=1")
        t0 = time.monotonic()
        self.assertEqual(w.event()["object"]["metadata"]["name"], "a")
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        # A stalled LIST sends no response at all until the client gives up.
        self.ctl.fault(fault="stall", verb="list")
        with self.assertRaises((TimeoutError, socket.timeout)):
            self.api.get("/api/v1/services", timeout=0.5)

    def test_c29_truncated_line(self) -> None:
        self.ctl.put(svc("a"))
        self.ctl.put(svc("b"))
        self.ctl.fault(fault="truncated_line", verb="watch")
        w = self.watch("/api/v1/services?watch=1")
        bad = w.chunk()
        assert bad is not None
        self.assertTrue(bad.endswith(b"\n"))
        with self.assertRaises(ValueError):
            json.loads(bad)
        self.assertTrue(bad.startswith(b'{"type":"ADDED"'))
        self.assertEqual(w.event()["object"]["metadata"]["name"], "b")  # the stream goes on
        self.ctl.fault(fault="truncated_line", verb="list")
        code, _, raw = self.api.get("/api/v1/services")
        self.assertEqual(code, 200)
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_c30_garbage_line(self) -> None:
        self.ctl.put(svc("a"))
        self.ctl.fault(fault="garbage_line", verb="watch")
        w = self.watch("/api/v1/services?watch=1")
        bad = w.chunk()
        assert bad is not None
        with self.assertRaises(ValueError):
            json.loads(bad)
        self.assertEqual(w.event()["object"]["metadata"]["name"], "a")  # then the real event
        self.ctl.fault(fault="garbage_line", verb="get")
        code, _, raw = self.api.get("/api/v1/namespaces/default/services/a")
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_c31_close_after_n_events(self) -> None:
        for i in range(4):
            self.ctl.put(svc(f"s{i}"))
        self.ctl.fault(fault="close_after_n_events", n=2)
        w = self.watch("/api/v1/services?watch=1")
        evs = w.events_until_end()
        self.assertEqual([e["object"]["metadata"]["name"] for e in evs], ["s0", "s1"])
        self.ctl.fault(fault="close_after_n_events", n=0)
        self.assertEqual(self.watch("/api/v1/services?watch=1").events_until_end(), [])

    def test_c32_fault_matching_and_count(self) -> None:
        self.ctl.fault(fault="status", code=503, resource="EndpointSlice", verb="list", count=2)
        self.assertEqual(self.api.get("/api/v1/services")[0], 200)  # other resource
        self.assertEqual(self.api.get("/apis/discovery.k8s.io/v1/endpointslices?watch=1&timeoutSeconds=1")[0], 200)
        self.assertEqual(self.api.get("/apis/discovery.k8s.io/v1/endpointslices")[0], 503)
        self.assertEqual(len(self.ctl.ok("GET", "/control/faults")["faults"]), 1)
        self.assertEqual(self.api.get("/apis/discovery.k8s.io/v1/endpointslices")[0], 503)
        self.assertEqual(self.api.get("/apis/discovery.k8s.io/v1/endpointslices")[0], 200)
        self.ctl.fault(fault="status", code=500, count=-1)
        for _ in range(3):
            self.assertEqual(self.api.get("/api/v1/nodes")[0], 500)
        self.ctl.ok("DELETE", "/control/faults")
        self.assertEqual(self.api.get("/api/v1/nodes")[0], 200)
        self.assertEqual(self.ctl.stats()["faults_applied"], 5)
        for name, spec in [("unknown fault", {"fault": "explode"}), ("bad verb", {"fault": "stall", "verb": "post"}),
                           ("bad resource", {"fault": "stall", "resource": "pods"}),
                           ("zero count", {"fault": "stall", "count": 0})]:
            with self.subTest(name):
                self.assertEqual(self.ctl.call("POST", "/control/faults", spec)[0], 400)


def read_text(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def _yaml_values(path: str) -> dict[str, str]:
    """The scalar values of our kubeconfig (a flat subset of YAML we write ourselves)."""
    out = {}
    for line in read_text(path).splitlines():
        key, sep, val = line.strip().lstrip("- ").partition(": ")
        if sep and val.startswith('"'):
            out[key] = json.loads(val)
    return out


class TestKubeconfigAndCli(FakeTest):
    def test_c36_kubeconfigs_work(self) -> None:
        kc = self.info["kubeconfig"]
        self.assertEqual(set(kc), {"token", "tokenfile", "cert", "certfiles"})
        for variant in sorted(kc):
            with self.subTest(variant):
                text = read_text(kc[variant])
                self.assertIn("current-context: fake", text)
                vals = _yaml_values(kc[variant])
                self.assertEqual(vals["server"], self.info["url"])
                with tempfile.TemporaryDirectory() as d:
                    ca = vals.get("certificate-authority")
                    if "certificate-authority-data" in vals:
                        ca = os.path.join(d, "ca.crt")
                        write_bytes(ca, base64.b64decode(vals["certificate-authority-data"]))
                    ctx = ssl.create_default_context(cafile=ca)
                    crt, key = vals.get("client-certificate"), vals.get("client-key")
                    if "client-certificate-data" in vals:
                        crt, key = os.path.join(d, "c.crt"), os.path.join(d, "c.key")
                        write_bytes(crt, base64.b64decode(vals["client-certificate-data"]))
                        write_bytes(key, base64.b64decode(vals["client-key-data"]))
                    if crt:
                        ctx.load_cert_chain(crt, key)
                    token = vals.get("token")
                    if "tokenFile" in vals:
                        token = read_text(vals["tokenFile"]).strip()
                    url = urllib.parse.urlsplit(vals["server"])
                    c = http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=5)
                    c.request("GET", "/api/v1/services", headers=auth_headers(token))
                    self.assertEqual(c.getresponse().status, 200)
                    c.close()

    def test_c37_cli_port0_ready_load_and_sigterm(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            objs = os.path.join(d, "objs.json")
            write_bytes(objs, json.dumps({"kind": "List", "items": [
                svc("loaded"), {"kind": "Node", "metadata": {"name": "n"}}]}).encode())
            ready = os.path.join(d, "ready.json")
            proc = subprocess.Popen(
                ["/usr/bin/python3", os.path.join(HERE, "fake-apiserver"), "--port", "0", "--control-port", "0",
                 "--dir", os.path.join(d, "pki"), "--token", "t0k", "--bookmark-interval", "0.2",
                 "--load", objs, "--ready-file", ready],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                assert proc.stdout is not None
                line = proc.stdout.readline()
                info = json.loads(line)
                self.assertEqual(json.loads(read_text(ready)), info)
                self.assertGreater(info["port"], 0)
                self.assertGreater(info["control_port"], 0)
                self.assertEqual(info["token"], "t0k")
                self.assertTrue(os.path.exists(os.path.join(d, "pki", "ca.crt")))
                _, body = Api(info, token="t0k").get_json("/api/v1/services")
                self.assertEqual(names(body["items"]), ["default/loaded"])
                w = Api(info, token="t0k").stream("/api/v1/nodes?watch=1")
                self.assertEqual(w.event()["type"], "ADDED")
                proc.send_signal(signal.SIGTERM)
                self.assertIsNone(w.event(timeout=5))  # watches end cleanly on shutdown
                w.close()
                self.assertEqual(proc.wait(timeout=10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()  # type: ignore[union-attr]
                proc.stderr.close()  # type: ignore[union-attr]
            # Bad flags and a bad --load file fail with a clear message.
            bad = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "fake-apiserver"), "--load",
                                  os.path.join(d, "missing.json")], capture_output=True, text=True, timeout=30)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("missing.json", bad.stderr)


class TestPlainHttp(FakeTest):
    plain_http = True

    def test_c38_plain_http_mode(self) -> None:
        self.assertTrue(self.info["url"].startswith("http://"))
        self.ctl.put(svc("a"))
        _, body = self.api.get_json("/api/v1/services")
        self.assertEqual(names(body["items"]), ["default/a"])
        self.assertEqual(Api(self.info, token=None).get_json("/api/v1/services")[0], 401)
        w = self.watch("/api/v1/services?watch=1&timeoutSeconds=1")
        self.assertEqual(w.events_until_end()[0]["type"], "ADDED")
        vals = _yaml_values(self.info["kubeconfig"]["token"])
        self.assertEqual(vals["server"], self.info["url"])
        self.assertNotIn("certificate-authority-data", vals)


class TestHttp2ThroughNghttpx(FakeTest):
    """nghttpx terminates TLS with ALPN h2 and forwards to the fake over HTTP/1.1."""

    plain_http = True
    proxy: subprocess.Popen  # type: ignore[type-arg]
    front: int

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        d = cls.info["dir"]
        for attempt in range(5):
            cls.front = free_port()
            cls.proxy = subprocess.Popen(
                [NGHTTPX, "--conf=/dev/null", f"--frontend=127.0.0.1,{cls.front}",
                 f"--backend=127.0.0.1,{cls.info['port']};;proto=http/1.1", "--workers=1",
                 "--no-ocsp", "--log-level=WARN", f"--errorlog-file={d}/nghttpx.log",
                 "--accesslog-file=/dev/null", "--backend-read-timeout=60s",
                 cls.info["server_key"], cls.info["server_cert"]],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and cls.proxy.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", cls.front), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.05)
            cls.proxy.kill()
            cls.proxy.wait()
        raise RuntimeError(f"nghttpx did not start; see {d}/nghttpx.log")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.proxy.terminate()
        try:
            cls.proxy.wait(timeout=5)
        except subprocess.TimeoutExpired:
            cls.proxy.kill()
            cls.proxy.wait()
        super().tearDownClass()

    def curl(self, *args: str, timeout: float = 20) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        return subprocess.run(["curl", "--silent", "--show-error", "--http2", "--cacert", self.info["ca"],
                               "-H", f"Authorization: Bearer {TOKEN}", *args],
                              capture_output=True, text=True, timeout=timeout)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.front}{path}"

    def test_c39_http2_list_and_multiplexed_watches(self) -> None:
        self.ctl.put(svc("a"))
        out = self.curl("-w", "\n%{http_version} %{http_code}", self.url("/api/v1/services"))
        self.assertEqual(out.returncode, 0, out.stderr)
        body, trailer = out.stdout.rsplit("\n", 1)
        self.assertEqual(trailer, "2 200")
        self.assertEqual(names(json.loads(body)["items"]), ["default/a"])
        # Two watches multiplexed on one HTTP/2 connection, both live at the same time.
        rv = self.ctl.stats()["resourceVersion"]
        fmt = "\nRESULT %{http_version} %{http_code} %{num_connects}\n"
        proc = subprocess.Popen(
            ["curl", "--silent", "--show-error", "--http2", "--parallel", "--cacert", self.info["ca"],
             "-H", f"Authorization: Bearer {TOKEN}", "-w", fmt,
             self.url("/api/v1/services" + q(watch=1, resourceVersion=rv, timeoutSeconds=2)),
             self.url("/api/v1/nodes" + q(watch=1, resourceVersion=rv, timeoutSeconds=2))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.ctl.wait_watches(2, timeout=5)
            self.ctl.put(svc("b"))
            self.ctl.put({"kind": "Node", "metadata": {"name": "n"}})
            stdout, stderr = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, stderr)
        results = [ln.split()[1:] for ln in stdout.splitlines() if ln.startswith("RESULT ")]
        self.assertEqual(len(results), 2, stdout)
        self.assertEqual([r[:2] for r in results], [["2", "200"], ["2", "200"]])
        self.assertEqual(sum(int(r[2]) for r in results), 1, "both watches on one connection")
        events = [json.loads(ln) for ln in stdout.splitlines() if ln.startswith("{")]
        self.assertEqual(sorted((e["type"], e["object"]["kind"], e["object"]["metadata"]["name"]) for e in events),
                         [("ADDED", "Node", "n"), ("ADDED", "Service", "b")])
        log = self.ctl.ok("GET", "/control/requests")["requests"]
        self.assertTrue(all(e["http_version"] == "HTTP/1.1" for e in log if e.get("verb")))  # the backend hop


if __name__ == "__main__":
    unittest.main()

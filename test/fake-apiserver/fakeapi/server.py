# SPDX-License-Identifier: Apache-2.0
"""Assembly: the API server (HTTPS or plain HTTP) and the control server.

FakeAPIServer owns the store, the fault table, the counters and both
threaded HTTP servers. TLS handshakes run in the per-connection thread (a
slow client cannot block accept), with client certificates optional and
verified against the generated CA. stop() ends every watch cleanly, then
closes the listeners.
"""
from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
from http.server import ThreadingHTTPServer
from typing import Any, Optional

from . import certs
from .apihandler import APIHandler
from .control import ControlHandler
from .faults import FaultTable
from .stats import Stats
from .store import Store

HANDSHAKE_TIMEOUT = 10.0


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: Any, fake: "FakeAPIServer",
                 tls: Optional[ssl.SSLContext]) -> None:
        self.address_family = _family(address[0])
        self.fake = fake
        self.tls = tls
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            # Headers and body go out in separate writes: without this, Nagle plus the
            # peer's delayed ACK add 40 ms to every response.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.tls is not None:
            try:
                request.settimeout(HANDSHAKE_TIMEOUT)
                request = self.tls.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                # Handshake failures (an unknown client CA, a plain-HTTP client) end here,
                # as with the real server; the socket is closed by the caller.
                return
        try:
            super().finish_request(request, client_address)
        finally:
            if request is not None and self.tls is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.fake.verbose:
            super().handle_error(request, client_address)


class FakeAPIServer:
    """The fake Kubernetes API server and its control API."""

    def __init__(self, *, address: str = "127.0.0.1", port: int = 0,
                 control_address: str = "127.0.0.1", control_port: int = 0,
                 dir: Optional[str] = None, token: Optional[str] = None, plain_http: bool = False,
                 bookmark_interval: float = 1.0, extra_sans: Optional[list[str]] = None,
                 verbose: bool = False) -> None:
        self.address, self.port = address, port
        self.control_address, self.control_port = control_address, control_port
        self.dir = dir  # None: a new temporary directory, made by start()
        self.token = token or "fake-token"
        self.plain_http = plain_http
        self.bookmark_interval = bookmark_interval
        # What kind of server this models (POST /control/config changes them):
        # watch_list: "supported" (sendInitialEvents honoured), "ignored" (an older server:
        # a plain watch from the given RV) or "refused" (the WatchList gate off: 422).
        self.watch_list = "supported"
        # A LIST at resourceVersion=0 honours limit (no watch cache: served from etcd).
        self.rv0_paginates = False
        # A LIST at resourceVersion=0 is served this many revisions behind (a lagging cache).
        self.cache_lag = 0
        self.extra_sans = list(extra_sans or [])
        if address not in ("0.0.0.0", "::", "127.0.0.1", "::1", "localhost"):
            self.extra_sans.append(address)
        self.verbose = verbose
        self.store = Store()
        self.faults = FaultTable()
        self.stats = Stats()
        self.stopping = threading.Event()
        self.epoch = 0  # bumped by reset(): stalls and watches of the old epoch end
        self.info: dict[str, Any] = {}
        self._servers: list[_HTTPServer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> dict[str, Any]:
        """Generate the PKI, bind both ports, start serving; returns self.info."""
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="fake-apiserver-")
        os.makedirs(self.dir, exist_ok=True)
        pki = certs.generate(self.dir, self.extra_sans)
        tls: Optional[ssl.SSLContext] = None
        if not self.plain_http:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
            tls.load_cert_chain(pki.server_crt, pki.server_key)
            tls.load_verify_locations(pki.ca_crt)
            tls.verify_mode = ssl.CERT_OPTIONAL
            tls.set_alpn_protocols(["http/1.1"])
        api = _HTTPServer((self.address, self.port), APIHandler, self, tls)
        control = _HTTPServer((self.control_address, self.control_port), ControlHandler, self, None)
        self._servers = [api, control]
        self.port = api.server_address[1]
        self.control_port = control.server_address[1]
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else \
            "::1" if self.address == "::" else self.address
        url = f"{'http' if self.plain_http else 'https'}://{_url_host(host)}:{self.port}"
        kubeconfigs = certs.write_kubeconfigs(self.dir, url, pki, self.token, not self.plain_http)
        self.info = {
            "url": url,
            "port": self.port,
            "control_url": f"http://{_url_host(self.control_address)}:{self.control_port}",
            "control_port": self.control_port,
            "plain_http": self.plain_http,
            "dir": self.dir,
            "token": self.token,
            "token_file": os.path.join(self.dir, "token"),
            "ca": pki.ca_crt,
            "server_cert": pki.server_crt,
            "server_key": pki.server_key,
            "client_cert": pki.client_crt,
            "client_key": pki.client_key,
            "kubeconfig": kubeconfigs,
            "pid": os.getpid(),
        }
        for srv in self._servers:
            th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                  daemon=True)
            th.start()
            self._threads.append(th)
        return self.info

    def reset(self) -> None:
        """Back to empty: objects, history, faults, counters; open watches end."""
        self.epoch += 1
        self.store.reset()
        self.faults.clear(counters=True)
        self.stats.reset()

    def stop(self) -> None:
        """End watches and stalls, stop accepting, close the listeners."""
        self.stopping.set()
        self.store.close_watches()
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        for th in self._threads:
            th.join(timeout=5)

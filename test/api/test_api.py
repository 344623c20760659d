#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The API suite: kipvs's API client (test/api/kube_sync_driver) against the fake API server.

Each test starts its own fake server (free ports, fresh PKI), drives objects and faults through
its control API, and compares the driver's cache dump with the server's state: the same objects
at the same resourceVersions. Run one test by name:

    test_api.py NAME --driver build/test/api/kube_sync_driver --fake test/fake-apiserver/fake-apiserver
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Optional

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "pylib"))
from test_ports import free_port  # noqa: E402

NODE = "node-1"
SELECTOR_LABELS = ("service.kubernetes.io/service-proxy-name", "service.kubernetes.io/headless")


class TestFailure(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise TestFailure(what)


# --- objects ---------------------------------------------------------------------------------

def service(name: str, ns: str = "default", ip: Optional[str] = None, port: int = 80,
            labels: Optional[dict[str, str]] = None) -> dict[str, Any]:
    h = abs(hash((ns, name))) % 60000
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"type": "ClusterIP",
                     "clusterIP": ip or f"10.96.{h // 250}.{h % 250 + 1}",
                     "ports": [{"name": "http", "port": port, "protocol": "TCP",
                                "targetPort": 8080}]}}


def slice_(name: str, svc: str, ns: str = "default", n: int = 2, seed: int = 0) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [f"10.{1 + seed % 200}.{i // 250}.{i % 250 + 1}"],
                           "conditions": {"ready": True}, "nodeName": NODE}
                          for i in range(n)]}


def node(name: str = NODE, ip: str = "192.168.1.10") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


# --- the fake server -------------------------------------------------------------------------

class Fake:
    def __init__(self, exe: str, workdir: str, extra: Optional[list[str]] = None) -> None:
        self.dir = os.path.join(workdir, "fake")
        ready = os.path.join(workdir, "fake-ready.json")
        self.log = open(os.path.join(workdir, "fake.log"), "w")
        self.proc = subprocess.Popen([exe, "--dir", self.dir, "--ready-file", ready,
                                      "--token", "tok-" + os.urandom(8).hex()] + (extra or []),
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 20
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.time() > deadline:
                raise TestFailure("the fake API server did not start (see fake.log)")
            time.sleep(0.05)
        with open(ready) as fh:
            self.info = json.load(fh)
        self.control_url = self.info["control_url"]

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            raise TestFailure(f"control {method} {path}: {exc.code} {exc.read()[:300]!r}")

    def put(self, obj: dict[str, Any]) -> Any:
        return self.control("POST", "/control/objects", obj)

    def delete(self, kind: str, ns: Optional[str], name: str) -> Any:
        path = f"/control/objects/{kind}/{ns}/{name}" if ns else f"/control/objects/{kind}/{name}"
        return self.control("DELETE", path)

    def fault(self, spec: Any) -> Any:
        return self.control("POST", "/control/faults", spec)

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "/control/stats")

    def requests(self, resource: str, verb: str) -> int:
        return self.stats()["requests"].get(resource, {}).get(verb, 0)

    def expected(self, proxy_name: Optional[str] = None) -> set[str]:
        """The dump lines the driver should show: what kipvs keeps of the server's state."""
        out = set()
        for obj in self.control("GET", "/control/state")["objects"]:
            meta = obj["metadata"]
            labels = meta.get("labels") or {}
            key = f"{meta.get('namespace', '')}/{meta['name']}"
            if obj["kind"] == "Service":
                if SELECTOR_LABELS[1] in labels:
                    continue
                if SELECTOR_LABELS[0] in labels and labels[SELECTOR_LABELS[0]] != proxy_name:
                    continue
                out.add(f"service {key} rv={meta['resourceVersion']}")
            elif obj["kind"] == "EndpointSlice":
                out.add(f"slice {key} rv={meta['resourceVersion']}")
            elif obj["kind"] == "Node" and meta["name"] == NODE:
                out.add(f"node {meta['name']} rv={meta['resourceVersion']}")
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- the driver ------------------------------------------------------------------------------

class Driver:
    def __init__(self, exe: str, workdir: str, args: list[str], name: str = "driver") -> None:
        self.dump_file = os.path.join(workdir, name + ".dump")
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([exe, "--dump-file", self.dump_file] + args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        # SIGUSR1 before the handler is installed would kill it: wait for "running".
        deadline = time.time() + 20
        while "msg=running" not in self.log_text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise TestFailure(f"the driver did not start: {self.log_tail()}")
            time.sleep(0.02)

    def dump(self) -> tuple[set[str], dict[str, dict[str, int]], dict[str, int]]:
        """(object lines, stats per resource, http counters)."""
        if self.proc.poll() is not None:
            raise TestFailure(f"the driver exited with {self.proc.returncode}: "
                              f"{self.log_tail()}")
        try:
            os.unlink(self.dump_file)
        except FileNotFoundError:
            pass
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.time() + 10
        while not os.path.exists(self.dump_file):
            if time.time() > deadline:
                raise TestFailure("the driver wrote no dump")
            time.sleep(0.02)
        with open(self.dump_file) as fh:
            return parse_dump(fh.read())

    def log_tail(self, n: int = 30) -> str:
        self.log.flush()
        with open(self.log_path) as fh:
            return "".join(fh.readlines()[-n:])

    def log_text(self) -> str:
        self.log.flush()
        with open(self.log_path) as fh:
            return fh.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure("the driver did not stop on SIGTERM")
        self.log.close()
        return self.proc.returncode


def parse_dump(text: str) -> tuple[set[str], dict[str, dict[str, int]], dict[str, int]]:
    objs, stats, http = set(), {}, {}
    for line in text.splitlines():
        if line.startswith("stats "):
            parts = line.split()
            stats[parts[1].rsplit("/", 1)[-1]] = {k: int(v) for k, v in
                                                   (p.split("=") for p in parts[2:])}
        elif line.startswith("http "):
            http = {k: int(v) for k, v in (p.split("=") for p in line.split()[1:])}
        elif line:
            objs.add(line)
    return objs, stats, http


def wait_converged(fake: Fake, drv: Driver, timeout: float = 30.0,
                   proxy_name: Optional[str] = None, what: str = "") -> dict[str, dict[str, int]]:
    """Waits until the driver's cache equals the server's state; returns the stats."""
    deadline = time.time() + timeout
    while True:
        want = fake.expected(proxy_name)
        got, stats, _ = drv.dump()
        if got == want and all(s.get("synced") for s in stats.values()) and stats:
            return stats
        if time.time() > deadline:
            missing = sorted(want - got)[:5]
            extra = sorted(got - want)[:5]
            raise TestFailure(f"{what}: cache differs from the server after {timeout}s: "
                              f"missing {missing} extra {extra} (of {len(want)} / {len(got)}); "
                              f"driver log:\n{drv.log_tail()}")
        time.sleep(0.1)


# --- tests -----------------------------------------------------------------------------------

def base_args(fake: Fake, variant: str = "token") -> list[str]:
    return ["--kubeconfig", fake.info["kubeconfig"][variant], "--node", NODE,
            "--backoff-base-ms", "100", "--backoff-cap-ms", "1000"]


def populate(fake: Fake, n_svc: int, n_slices_per: int = 1) -> None:
    items = [node()]
    for i in range(n_svc):
        items.append(service(f"svc-{i}", ns=f"ns-{i % 7}"))
        for k in range(n_slices_per):
            items.append(slice_(f"svc-{i}-{k}", f"svc-{i}", ns=f"ns-{i % 7}", seed=i))
    fake.control("POST", "/control/load", {"apiVersion": "v1", "kind": "List", "items": items})


def t_sync_pagination(ctx: "Ctx") -> None:
    """1200 Services and 1300 slices come in pages of 500 (and a page size of 7 works too)."""
    fake = ctx.fake()
    fake.control("POST", "/control/config", {"rv0_paginates": True})
    populate(fake, 1200)
    for i in range(100):
        fake.put(slice_(f"extra-{i}", "svc-1", ns="ns-1", seed=i))
    out = subprocess.run([ctx.driver, "--until-synced", "--timeout-ms", "30000", "--no-watch-list"]
                         + base_args(fake),
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, f"driver failed: {out.stderr[-2000:]}")
    got, stats, _ = parse_dump(out.stdout)
    check(got == fake.expected(), f"cache differs: {len(got)} vs {len(fake.expected())}")
    check(stats["services"]["pages"] == 3, f"services pages {stats['services']}")
    check(stats["endpointslices"]["pages"] == 3, f"slices pages {stats['endpointslices']}")
    check(fake.requests("services", "list") == 3, f"server saw {fake.stats()['requests']}")
    log = ctx.fake_log_requests(fake)
    check(any("continue" in r.get("query", {}) and r["resource"] == "services" for r in log),
          "no LIST with continue reached the server")
    check(all(r["query"].get("limit") == "500" for r in log if r.get("verb") == "list"),
          "a LIST without limit=500")
    svc_lists = [r for r in log if r.get("verb") == "list" and r["resource"] == "services"]
    check(all(r["query"].get("labelSelector") ==
              "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
              for r in svc_lists), "Services listed without kube-proxy's selector")
    node_lists = [r for r in log if r.get("verb") == "list" and r["resource"] == "nodes"]
    check(all(r["query"].get("fieldSelector") == f"metadata.name={NODE}" for r in node_lists),
          "the Node listed without its field selector")
    out = subprocess.run([ctx.driver, "--until-synced", "--page-limit", "7", "--no-watch-list",
                          "--timeout-ms", "60000"] + base_args(fake),
                         capture_output=True, text=True, timeout=90)
    check(out.returncode == 0, f"driver failed with page size 7: {out.stderr[-2000:]}")
    got, stats, _ = parse_dump(out.stdout)
    check(got == fake.expected(), "cache differs with page size 7")
    check(stats["services"]["pages"] == 172, f"page size 7: {stats['services']}")


def t_kubeconfig_variants(ctx: "Ctx") -> None:
    """Token, tokenFile, client certificate as data and as files: each syncs."""
    fake = ctx.fake()
    populate(fake, 20)
    for variant in ("token", "tokenfile", "cert", "certfiles"):
        out = subprocess.run([ctx.driver, "--until-synced"] + base_args(fake, variant),
                             capture_output=True, text=True, timeout=60)
        check(out.returncode == 0, f"{variant}: driver failed: {out.stderr[-2000:]}")
        got, _, _ = parse_dump(out.stdout)
        check(got == fake.expected(), f"{variant}: cache differs")
        check(fake.info["token"] not in out.stderr + out.stdout, f"{variant}: token in the log")
    check(fake.stats()["auth_failures"] == 0, "the server saw authentication failures")


def t_events_in_order(ctx: "Ctx") -> None:
    """Create, update, delete of each kind: the cache follows each step, in order."""
    fake = ctx.fake()
    populate(fake, 3)
    drv = ctx.driver_proc(fake)
    wait_converged(fake, drv, what="initial sync")
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("create service", lambda: fake.put(service("new", ns="web"))),
        ("create slice", lambda: fake.put(slice_("new-a", "new", ns="web"))),
        ("update service", lambda: fake.put(service("new", ns="web", port=81))),
        ("update slice", lambda: fake.put(slice_("new-a", "new", ns="web", n=5))),
        ("update node", lambda: fake.put(node(ip="192.168.1.11"))),
        ("other node ignored", lambda: fake.put(node("node-2"))),
        ("delete slice", lambda: fake.delete("EndpointSlice", "web", "new-a")),
        ("delete service", lambda: fake.delete("Service", "web", "new")),
        ("label service away", lambda: fake.put(service(
            "svc-0", ns="ns-0", labels={SELECTOR_LABELS[0]: "other-proxy"}))),
        ("label service back", lambda: fake.put(service("svc-0", ns="ns-0"))),
        ("headless label", lambda: fake.put(service(
            "svc-1", ns="ns-1", labels={SELECTOR_LABELS[1]: ""}))),
        ("delete node", lambda: fake.delete("Node", None, NODE)),
        ("recreate node", lambda: fake.put(node())),
    ]
    for name, step in steps:
        step()
        wait_converged(fake, drv, timeout=10, what=name)
    stats = wait_converged(fake, drv)
    for res, s in stats.items():
        check(s["lists"] == 1, f"{res}: relisted without cause: {s}")
    check(drv.stop() == 0, "driver exit status")


def t_service_proxy_name(ctx: "Ctx") -> None:
    """--service-proxy-name: no server-side selector; the client keeps absent-or-equal."""
    fake = ctx.fake()
    populate(fake, 3)
    fake.put(service("mine", labels={SELECTOR_LABELS[0]: "kipvs"}))
    fake.put(service("theirs", labels={SELECTOR_LABELS[0]: "other"}))
    fake.put(service("headless", labels={SELECTOR_LABELS[1]: ""}))
    drv = ctx.driver_proc(fake, ["--proxy-name", "kipvs"])
    wait_converged(fake, drv, proxy_name="kipvs", what="sync with a proxy name")
    got, _, _ = drv.dump()
    check(any(" default/mine " in line for line in got), "own Service missing")
    check(not any("theirs" in line or "headless" in line for line in got), "foreign Service kept")

    def reported(name: str) -> int:
        return drv.log_text().count(f'msg="service not proxied" svc=default/{name} ')

    want = {"theirs": 1, "headless": 1, "mine": 0}
    check({n: reported(n) for n in want} == want,
          f"each dropped Service reported once: {drv.log_tail()}")
    # A change that keeps the label, then a relist (410): neither reports them again.
    fake.put(service("headless", port=81, labels={SELECTOR_LABELS[1]: ""}))
    fake.control("POST", "/control/compact", {})
    fake.control("POST", "/control/watches/close", {})
    deadline = time.time() + 20
    while wait_converged(fake, drv, proxy_name="kipvs")["services"]["lists"] < 2:
        check(time.time() < deadline, "no relist after the compaction")
        time.sleep(0.1)
    check({n: reported(n) for n in want} == want,
          f"reported again after a change or a relist: {drv.log_tail()}")
    fake.put(service("theirs", labels={SELECTOR_LABELS[0]: "kipvs"}))
    wait_converged(fake, drv, proxy_name="kipvs", what="relabel to ours")
    fake.put(service("mine", labels={SELECTOR_LABELS[0]: "other"}))
    wait_converged(fake, drv, proxy_name="kipvs", what="relabel away")
    check(reported("mine") == 1 and reported("theirs") == 1,
          f"a Service relabelled away is reported once: {drv.log_tail()}")
    log = ctx.fake_log_requests(fake)
    check(all("labelSelector" not in r["query"] for r in log if r["resource"] == "services"),
          "a server-side selector was sent with --service-proxy-name")
    drv.stop()


FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("list 500", {"fault": "status", "verb": "list", "code": 500, "resource": "services"}),
    ("list 503 twice", {"fault": "status", "verb": "list", "code": 503, "count": 2}),
    ("list drop mid body", {"fault": "drop_mid_event", "verb": "list",
                            "resource": "endpointslices"}),
    ("list truncated", {"fault": "truncated_line", "verb": "list", "resource": "services"}),
    ("list garbage", {"fault": "garbage_line", "verb": "list", "resource": "nodes"}),
    ("list stall", {"fault": "stall", "verb": "list", "resource": "services", "seconds": 30}),
    ("watch 500", {"fault": "status", "verb": "watch", "code": 500}),
    ("watch 504", {"fault": "status", "verb": "watch", "code": 504, "resource": "services"}),
    ("watch drop mid event", {"fault": "drop_mid_event", "verb": "watch", "after_events": 1}),
    ("watch truncated line", {"fault": "truncated_line", "verb": "watch"}),
    ("watch garbage line", {"fault": "garbage_line", "verb": "watch", "after_events": 1}),
    ("watch closes after 1 event", {"fault": "close_after_n_events", "n": 1}),
    ("watch stall", {"fault": "stall", "verb": "watch", "resource": "endpointslices"}),
]


def kick_watches(fake: Fake, label: str) -> None:
    """Makes the next requests happen: changes that the watches must carry, then a close."""
    fake.put(service(f"kick-{label}", ns="kick"))
    fake.put(slice_(f"kick-{label}", f"kick-{label}", ns="kick"))
    fake.control("POST", "/control/watches/close", {})


def t_faults_each(ctx: "Ctx") -> None:
    """Every fault kind, on list and on watch: recovered from, cache equal to the server."""
    fake = ctx.fake()
    populate(fake, 30)
    drv = ctx.driver_proc(fake, ["--idle-limit-ms", "2500", "--list-timeout-ms", "2000",
                                 "--no-watch-list"])
    wait_converged(fake, drv, what="initial sync")
    for i, (name, spec) in enumerate(FAULTS):
        applied = fake.stats()["faults_applied"]
        fake.fault(dict(spec))
        if spec.get("verb") == "list":
            # A list happens after a 410: compact and close, so every reflector relists.
            fake.control("POST", "/control/compact", {})
            fake.control("POST", "/control/watches/close", {})
        kick_watches(fake, str(i))
        fake.put(service(f"after-{i}", ns="faults"))
        deadline = time.time() + 15
        while fake.stats()["faults_applied"] == applied and time.time() < deadline:
            time.sleep(0.1)
        check(fake.stats()["faults_applied"] > applied, f"{name}: the fault was never applied")
        wait_converged(fake, drv, timeout=40, what=name)
        fake.control("DELETE", "/control/faults")
    # The last fault stalls a watch: the idle limit (2.5 s) must catch it. On a loaded machine
    # the driver's timer can fire well after 2.5 s, so wait for the restart (bounded), not a
    # fixed time.
    deadline = time.time() + 15
    stats = wait_converged(fake, drv, what="after the stall")
    while stats["endpointslices"]["idle_restarts"] < 1 and time.time() < deadline:
        time.sleep(0.2)
        stats = wait_converged(fake, drv, what="after the stall")
    check(sum(s["failures"] for s in stats.values()) >= len(FAULTS) - 3,
          f"fewer failures than faults: {stats}")
    check(stats["endpointslices"]["idle_restarts"] >= 1, f"stall not detected: {stats}")
    drv.stop()


def t_gone_relists_once(ctx: "Ctx") -> None:
    """A watch from a compacted resourceVersion gets ERROR 410: exactly one relist each."""
    fake = ctx.fake()
    populate(fake, 10)
    drv = ctx.driver_proc(fake, ["--no-watch-list"])
    wait_converged(fake, drv, what="initial sync")
    lists_before = {r: fake.requests(r, "list") for r in ("services", "endpointslices", "nodes")}
    fake.put(service("during-outage"))
    fake.control("POST", "/control/compact", {})
    fake.control("POST", "/control/watches/close", {})
    stats = wait_converged(fake, drv, what="after 410")
    time.sleep(2.5)  # a second relist, if any, would show now
    stats = wait_converged(fake, drv, what="after 410 settle")
    for r, before in lists_before.items():
        after = fake.requests(r, "list")
        check(after == before + 1, f"{r}: {after - before} relists after one 410, want 1")
        check(stats[r]["relists_gone"] == 1, f"{r}: stats {stats[r]}")
    drv.stop()


def t_continue_expired(ctx: "Ctx") -> None:
    """HTTP 410 on a list (an expired continue token): the list restarts from the beginning."""
    fake = ctx.fake()
    fake.control("POST", "/control/config", {"rv0_paginates": True})
    populate(fake, 40)
    fake.fault({"fault": "status", "verb": "list", "code": 410, "resource": "services",
                "message": "The provided continue parameter is too old",
                "query": {"continue": "*"}})
    out = subprocess.run([ctx.driver, "--until-synced", "--page-limit", "10", "--no-watch-list"]
                         + base_args(fake),
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, f"driver failed: {out.stderr[-2000:]}")
    got, stats, _ = parse_dump(out.stdout)
    check(got == fake.expected(), "cache differs")
    check(stats["services"]["relists_gone"] == 1, f"stats {stats['services']}")
    check(stats["services"]["failures"] == 0, "a 410 on list counted as a failure")
    check("continue token expired" in out.stderr, "no log line about the 410")


def t_retry_after(ctx: "Ctx") -> None:
    """429 and 503 with Retry-After: the client waits that long, not its own backoff."""
    fake = ctx.fake()
    populate(fake, 5)
    fake.fault({"fault": "status", "verb": "list", "code": 429, "retry_after": 2,
                "resource": "services"})
    t0 = time.time()
    out = subprocess.run([ctx.driver, "--until-synced", "--no-watch-list"] + base_args(fake),
                         capture_output=True, text=True, timeout=60)
    took = time.time() - t0
    check(out.returncode == 0, f"driver failed: {out.stderr[-2000:]}")
    _, stats, _ = parse_dump(out.stdout)
    check(stats["services"]["retry_after"] == 1, f"stats {stats['services']}")
    check(took >= 1.9, f"synced after {took:.2f}s, before Retry-After (2s)")
    check("retry_in=2.0s" in out.stderr, "the log does not show the Retry-After wait")
    drv = ctx.driver_proc(fake)
    wait_converged(fake, drv, what="sync")
    fake.fault({"fault": "status", "verb": "watch", "code": 503, "retry_after": 1,
                "resource": "nodes"})
    fake.control("POST", "/control/watches/close", {"resource": "nodes"})
    fake.put(node(ip="192.168.1.99"))
    stats = wait_converged(fake, drv, what="after 503")
    check(stats["nodes"]["retry_after"] == 1, f"stats {stats['nodes']}")
    drv.stop()


def t_stalled_watch(ctx: "Ctx") -> None:
    """A watch that goes silent (no event, no bookmark) is declared dead and restarted."""
    fake = ctx.fake()
    populate(fake, 5)
    drv = ctx.driver_proc(fake, ["--idle-limit-ms", "2000"])
    wait_converged(fake, drv, what="initial sync")
    time.sleep(3)  # bookmarks (every second) keep healthy watches alive past the limit
    _, stats, _ = drv.dump()
    check(all(s["idle_restarts"] == 0 for s in stats.values()),
          f"a healthy watch was restarted: {stats}")
    check(all(s["bookmarks"] >= 1 for s in stats.values()), f"no bookmarks seen: {stats}")
    fake.fault({"fault": "stall", "verb": "watch", "resource": "services"})
    fake.control("POST", "/control/watches/close", {"resource": "services"})
    time.sleep(0.5)
    fake.put(service("while-stalled"))
    stats = wait_converged(fake, drv, timeout=15, what="after the stall")
    check(stats["services"]["idle_restarts"] == 1, f"stats {stats['services']}")
    check("watch idle, restarting" in drv.log_text(), "no log line for the idle restart")
    drv.stop()


def t_wrong_ca(ctx: "Ctx") -> None:
    """A kubeconfig whose CA did not sign the server's certificate: refused, never synced."""
    fake = ctx.fake()
    populate(fake, 2)
    other = os.path.join(ctx.workdir, "other-ca")
    os.makedirs(other)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=not-the-cluster-ca", "-keyout", os.path.join(other, "ca.key"),
                    "-out", os.path.join(other, "ca.crt")], check=True, capture_output=True)
    kc = os.path.join(ctx.workdir, "wrong-ca.yaml")
    with open(fake.info["kubeconfig"]["tokenfile"]) as fh:
        text = fh.read()
    text = re.sub(r"certificate-authority: .*", f"certificate-authority: {other}/ca.crt", text)
    check(f"{other}/ca.crt" in text, "could not rewrite the kubeconfig's CA")
    with open(kc, "w") as fh:
        fh.write(text)
    out = subprocess.run([ctx.driver, "--until-synced", "--timeout-ms", "3000", "--kubeconfig",
                          kc, "--node", NODE], capture_output=True, text=True, timeout=60)
    check(out.returncode != 0, "synced although the CA is wrong")
    check("the server certificate is not trusted" in out.stderr, f"log: {out.stderr[-1500:]}")
    check(fake.stats()["requests"] == {}, "a request got through the TLS handshake")
    check(fake.info["token"] not in out.stderr + out.stdout, "the token is in the log")


def t_missing_token(ctx: "Ctx") -> None:
    """No credentials: 401 with a clear message; a missing tokenFile: a clear startup error."""
    fake = ctx.fake()
    populate(fake, 2)
    with open(fake.info["kubeconfig"]["token"]) as fh:
        text = fh.read()
    kc = os.path.join(ctx.workdir, "no-token.yaml")
    with open(kc, "w") as fh:
        fh.write(re.sub(r"token: .*", "token: wrong-token-value-123", text))
    out = subprocess.run([ctx.driver, "--until-synced", "--timeout-ms", "2000", "--kubeconfig",
                          kc, "--node", NODE], capture_output=True, text=True, timeout=60)
    check(out.returncode != 0, "synced with a wrong token")
    check("status=401" in out.stderr and "unauthorized" in out.stderr,
          f"no clear 401 line: {out.stderr[-1500:]}")
    check("wrong-token-value-123" not in out.stderr + out.stdout, "the token is in the log")
    check(fake.stats()["auth_failures"] >= 3, "the server saw no failed authentication")
    kc2 = os.path.join(ctx.workdir, "no-token-file.yaml")
    with open(fake.info["kubeconfig"]["tokenfile"]) as fh:
        text = fh.read()
    with open(kc2, "w") as fh:
        fh.write(re.sub(r"tokenFile: .*", "tokenFile: /nonexistent/token", text))
    out = subprocess.run([ctx.driver, "--until-synced", "--kubeconfig", kc2, "--node", NODE],
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 2, f"exit {out.returncode} for a missing token file")
    check("tokenFile /nonexistent/token: No such file or directory" in out.stderr,
          f"unclear error: {out.stderr}")


def t_random_faults(ctx: "Ctx") -> None:
    """100 random faults interleaved with 1000 random changes: the cache ends equal."""
    seed = int(os.environ.get("KIPVS_API_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    print(f"seed {seed}")
    fake = ctx.fake()
    populate(fake, 50)
    drv = ctx.driver_proc(fake, ["--idle-limit-ms", "2500", "--list-timeout-ms", "2000",
                                 "--no-watch-list"])
    wait_converged(fake, drv, what="initial sync")
    live_svc = {f"ns-{i % 7}/svc-{i}" for i in range(50)}
    live_slices = {f"ns-{i % 7}/svc-{i}-0": f"svc-{i}" for i in range(50)}
    fault_at = set(rng.sample(range(1000), 100))
    for step in range(1000):
        if step in fault_at:
            name, spec = rng.choice(FAULTS)
            spec = dict(spec)
            if spec["fault"] == "stall":
                spec["seconds"] = 4
            fake.fault(spec)
            # Make requests happen, so the fault meets one: lists need a 410 first.
            if spec.get("verb") == "list" or rng.random() < 0.15:
                fake.control("POST", "/control/compact", {})
            fake.control("POST", "/control/watches/close", {})
        op = rng.random()
        if op < 0.35 or not live_svc:
            i = rng.randrange(200)
            key = f"rnd-{i % 5}/s-{i}"
            fake.put(service(f"s-{i}", ns=f"rnd-{i % 5}", port=rng.randrange(1, 65535)))
            live_svc.add(key)
        elif op < 0.7:
            svc = rng.choice(sorted(live_svc))
            ns, name = svc.split("/")
            sname = f"{name}-{rng.randrange(3)}"
            fake.put(slice_(sname, name, ns=ns, n=rng.randrange(1, 6), seed=rng.randrange(200)))
            live_slices[f"{ns}/{sname}"] = name
        elif op < 0.85 and live_slices:
            key = rng.choice(sorted(live_slices))
            ns, name = key.split("/")
            fake.delete("EndpointSlice", ns, name)
            del live_slices[key]
        elif op < 0.97:
            key = rng.choice(sorted(live_svc))
            ns, name = key.split("/")
            fake.delete("Service", ns, name)
            live_svc.discard(key)
        else:
            fake.put(node(ip=f"192.168.1.{rng.randrange(1, 250)}"))
        if step % 50 == 0:
            time.sleep(0.2)
    # Let the faults still queued meet requests too.
    deadline = time.time() + 60
    while fake.control("GET", "/control/faults")["faults"] and time.time() < deadline:
        if any(f["verb"] == "list" for f in fake.control("GET", "/control/faults")["faults"]):
            fake.control("POST", "/control/compact", {})
        fake.control("POST", "/control/watches/close", {})
        time.sleep(1)
    applied = fake.stats()["faults_applied"]
    fake.control("DELETE", "/control/faults")
    fake.control("POST", "/control/watches/close", {})
    stats = wait_converged(fake, drv, timeout=90, what=f"random faults (seed {seed})")
    check(applied >= 100, f"only {applied} of 100 faults met a request: {fake.stats()}")
    print(json.dumps(stats))
    check(drv.stop() == 0, "driver exit status")


def t_http2_shared_connection(ctx: "Ctx") -> None:
    """Through nghttpx (HTTP/2), the three watches share one TCP connection."""
    nghttpx = shutil.which("nghttpx") or "/usr/sbin/nghttpx"
    check(os.path.exists(nghttpx), "nghttpx not installed (nghttp2-proxy)")
    fake = ctx.fake()
    populate(fake, 20)
    pki = fake.info
    port = free_port()
    log = open(os.path.join(ctx.workdir, "nghttpx.log"), "w")
    proxy = subprocess.Popen([nghttpx, f"--frontend=127.0.0.1,{port}",
                              f"--backend=127.0.0.1,{pki['port']};;tls;proto=http/1.1",
                              "--insecure", "--workers=1", "--no-ocsp",
                              f"--errorlog-file={os.path.join(ctx.workdir, 'nghttpx.err')}",
                              "--accesslog-file=" + os.path.join(ctx.workdir, "nghttpx.access"),
                              "--accesslog-format=$remote_addr $remote_port $alpn $request $status",
                              pki["server_key"], pki["server_cert"]],
                             stdout=log, stderr=subprocess.STDOUT)
    ctx.cleanups.append(lambda: (proxy.terminate(), proxy.wait(), log.close()))
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            check(time.time() < deadline and proxy.poll() is None, "nghttpx did not start")
            time.sleep(0.1)
    # The client certificate cannot pass a TLS-terminating proxy; use the token.
    drv = ctx.driver_proc(fake, ["--master", f"https://127.0.0.1:{port}"])
    wait_converged(fake, drv, what="sync through nghttpx")
    fake.put(service("through-h2"))
    wait_converged(fake, drv, what="event through nghttpx")
    _, stats, http = drv.dump()
    check(http["version"] == 2, f"not HTTP/2: {http}")
    check(http["connects"] == 1, f"{http['connects']} connections for 6 requests, want 1")
    with open(os.path.join(ctx.workdir, "nghttpx.access")) as fh:
        lines = [line for line in fh if "watch=1" in line]
    check(len({line.split()[1] for line in lines}) <= 1,
          f"watches came from several client ports: {lines}")
    drv.stop()


def t_plan_kubeconfig_equals_from(ctx: "Ctx") -> None:
    """Acceptance: `kipvs plan --kubeconfig K` against the fake server prints exactly what
    `kipvs plan --from F` prints for the same objects, for every golden scenario."""
    check(bool(ctx.kipvs), "--kipvs not given")
    scen_dir = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "fixtures",
                            "scenarios")
    scenarios = sorted(f[:-5] for f in os.listdir(scen_dir) if f.endswith(".json"))
    check(len(scenarios) > 0, "no scenarios found")
    fake = ctx.fake()
    for name in scenarios:
        base = os.path.join(scen_dir, name)
        args = []
        if os.path.exists(base + ".args"):
            with open(base + ".args") as fh:
                args = [a for line in fh if not line.startswith("#") for a in line.split()]
        fake.control("POST", "/control/reset", {})
        with open(base + ".json") as fh:
            fake.control("POST", "/control/load", json.load(fh))
        from_out = subprocess.run([ctx.kipvs, "plan", "--from", base + ".json"] + args,
                                  capture_output=True, text=True, timeout=60)
        api_out = subprocess.run([ctx.kipvs, "plan", "--kubeconfig",
                                  fake.info["kubeconfig"]["token"], "--sync-timeout", "20"] + args,
                                 capture_output=True, text=True, timeout=60)
        check(api_out.returncode == from_out.returncode,
              f"{name}: exit {api_out.returncode} from the API, {from_out.returncode} from "
              f"files: {api_out.stderr[-1500:]}")
        check(api_out.stdout == from_out.stdout,
              f"{name}: plans differ\n--- from files:\n{from_out.stdout}\n--- from the API:\n"
              f"{api_out.stdout}\n{api_out.stderr[-1500:]}")
        check(fake.info["token"] not in api_out.stderr, f"{name}: token in the log")
        print(f"{name}: {len(api_out.stdout.splitlines())} lines, identical")


def svc_requests(ctx: "Ctx", fake: Fake, verb: str) -> list[dict[str, str]]:
    return [r["query"] for r in ctx.fake_log_requests(fake)
            if r["resource"] == "services" and r["verb"] == verb]


def t_list_relist_sequence(ctx: "Ctx") -> None:
    """LIST at resourceVersion=0; after a watch 410 a relist at the last RV; on its 410 a
    consistent list (resourceVersion unset). Queries asserted in order."""
    fake = ctx.fake()
    populate(fake, 5)
    drv = ctx.driver_proc(fake, ["--no-watch-list"])
    wait_converged(fake, drv, what="initial sync")
    first = svc_requests(ctx, fake, "list")
    check([(q.get("resourceVersion"), q.get("limit")) for q in first] == [("0", "500")],
          f"initial list: {first}")
    _, _, _ = drv.dump()
    fake.put(service("during-outage"))
    fake.control("POST", "/control/compact", {})
    fake.fault({"fault": "status", "verb": "list", "code": 410, "resource": "services",
                "query": {"resourceVersion": "*"}})
    fake.control("POST", "/control/watches/close", {})
    wait_converged(fake, drv, what="after 410, 410")
    lists = svc_requests(ctx, fake, "list")[1:]
    check(len(lists) == 2, f"relists: {lists}")
    check(lists[0].get("resourceVersion") not in (None, "0") and "limit" not in lists[0],
          f"relist not at the last RV, unpaged: {lists[0]}")
    check("resourceVersion" not in lists[1] and "resourceVersionMatch" not in lists[1],
          f"fallback not consistent: {lists[1]}")
    drv.stop()


def t_watch_list_modern(ctx: "Ctx") -> None:
    """A modern server: the streaming list, no LIST at all; then live events on the same watch."""
    fake = ctx.fake()
    populate(fake, 30)
    drv = ctx.driver_proc(fake)
    stats = wait_converged(fake, drv, what="streaming sync")
    check(fake.stats()["requests"].get("services", {}).get("list", 0) == 0, "a LIST was sent")
    w = svc_requests(ctx, fake, "watch")
    check(len(w) == 1 and w[0].get("sendInitialEvents") == "true"
          and w[0].get("resourceVersionMatch") == "NotOlderThan"
          and w[0].get("allowWatchBookmarks") == "true" and "resourceVersion" not in w[0],
          f"streaming watch query: {w}")
    check(stats["services"]["watch_lists"] == 1 and stats["services"]["watches"] == 1,
          f"stats {stats['services']}")
    fake.put(service("live"))
    wait_converged(fake, drv, what="live event")
    check(len(svc_requests(ctx, fake, "watch")) == 1, "the watch did not go on")
    drv.stop()


def t_watch_list_old_server(ctx: "Ctx") -> None:
    """An older server ignores sendInitialEvents: after the bounded wait, LIST; later relists
    go straight to LIST."""
    fake = ctx.fake()
    fake.control("POST", "/control/config", {"watch_list": "ignored"})
    populate(fake, 10)
    t0 = time.time()
    drv = ctx.driver_proc(fake, ["--initial-events-wait-ms", "1500"])
    stats = wait_converged(fake, drv, what="fallback sync")
    check(time.time() - t0 >= 1.4, "synced before the wait was over")
    check(stats["services"]["watch_list_fallbacks"] == 1, f"stats {stats['services']}")
    check(len(svc_requests(ctx, fake, "list")) == 1, "no single LIST after the fallback")
    fake.control("POST", "/control/compact", {})
    fake.control("POST", "/control/watches/close", {})
    deadline = time.time() + 15
    while len(svc_requests(ctx, fake, "list")) < 2:
        check(time.time() < deadline, "no relist")
        time.sleep(0.1)
    stats = wait_converged(fake, drv, what="relist")
    check(stats["services"]["watch_lists"] == 1, f"streaming retried: {stats['services']}")
    drv.stop()


def t_watch_list_refused(ctx: "Ctx") -> None:
    """A server that refuses the parameters (422): LIST at once."""
    fake = ctx.fake()
    fake.control("POST", "/control/config", {"watch_list": "refused"})
    populate(fake, 10)
    drv = ctx.driver_proc(fake)
    stats = wait_converged(fake, drv, timeout=3, what="refused")
    check(stats["services"]["watch_list_fallbacks"] == 1, f"stats {stats['services']}")
    drv.stop()


def wait_events(drv: Driver, resource: str, n: int, what: str) -> tuple[set[str], dict[str, Any]]:
    """Dumps until the driver has taken n watch events of resource; (objects, its stats)."""
    deadline = time.time() + 10
    while True:
        got, stats, _ = drv.dump()
        if stats[resource]["events"] >= n:
            return got, stats[resource]
        check(time.time() < deadline, f"{what}: {stats[resource]['events']} events, want {n}")
        time.sleep(0.05)


def t_watch_list_hang(ctx: "Ctx") -> None:
    """A server that takes the streaming list, sends a few initial events, then hangs before
    the end bookmark: after the bounded wait, LIST. The staged objects never reach the cache:
    at the first sync it stays empty and unsynced, on a relist it keeps the last full state."""
    fake = ctx.fake()
    populate(fake, 10)
    stall = {"fault": "stall", "verb": "watch", "resource": "services", "after_events": 3,
             "query": {"sendInitialEvents": "true"}}
    fake.fault(stall)
    t0 = time.time()
    drv = ctx.driver_proc(fake, ["--initial-events-wait-ms", "2500"])
    got, st = wait_events(drv, "services", 3, "first sync")
    check(st["watch_list_fallbacks"] == 0, f"gave up before the wait: {st}")
    check(st["synced"] == 0 and not any(o.startswith("service ") for o in got),
          f"the partial streaming list reached the cache: {sorted(got)[:5]} {st}")
    stats = wait_converged(fake, drv, what="first sync after the hang")
    check(time.time() - t0 >= 2.4, "listed before the wait was over")
    check(stats["services"]["watch_list_fallbacks"] == 1, f"stats {stats['services']}")
    check(len(svc_requests(ctx, fake, "list")) == 1, "not one LIST after the hang")
    check("streaming list not supported" in drv.log_text(), "no log line for the fallback")
    drv.stop()

    # A relist. The resumed Service watch stalls (nothing reaches the driver) while the state
    # changes and is compacted; after the idle limit it resumes into a 410, and the streaming
    # relist hangs after 3 events, the first of them new ("a/new" sorts first).
    fake.control("POST", "/control/stats/reset", {})
    drv = ctx.driver_proc(fake, ["--initial-events-wait-ms", "2500", "--idle-limit-ms", "4000"],
                          name="relist")
    wait_converged(fake, drv, what="streaming sync")
    old, stats, _ = drv.dump()
    base = stats["services"]["events"] - stats["services"]["bookmarks"]
    fake.fault(dict(stall, after_events=0, query={"sendInitialEvents": ""}))
    fake.control("POST", "/control/watches/close", {"resource": "services"})
    fake.put(service("new", ns="a"))
    fake.delete("Service", "ns-1", "svc-1")
    fake.control("POST", "/control/compact", {})
    fake.fault(dict(stall, query={"sendInitialEvents": "true", "resourceVersion": "*"}))
    deadline = time.time() + 15
    while True:  # the ERROR 410, then the 3 initial events
        got, stats, _ = drv.dump()
        st = stats["services"]
        if st["events"] - st["bookmarks"] >= base + 4:
            break
        check(time.time() < deadline, f"relist: stats {st}")
        time.sleep(0.05)
    check(st["watch_lists"] == 2 and st["watch_list_fallbacks"] == 0 and st["idle_restarts"] == 1,
          f"stats {st}")
    check(got == old, f"the cache changed during the hang: extra {sorted(got - old)[:5]} "
                      f"missing {sorted(old - got)[:5]}")
    stats = wait_converged(fake, drv, what="relist after the hang")
    check(stats["services"]["watch_list_fallbacks"] == 1, f"stats {stats['services']}")
    check(len(svc_requests(ctx, fake, "list")) >= 1, "no LIST after the hang")
    drv.stop()


def t_list_cache_lag(ctx: "Ctx") -> None:
    """A lagging watch cache serves resourceVersion=0 three revisions behind (a Service since
    changed, one since deleted, one not yet there): the watch from the list's RV brings the
    missed changes, and the cache converges."""
    fake = ctx.fake()
    populate(fake, 10)
    fake.put(service("svc-2", ns="ns-2", port=81))
    fake.delete("Service", "ns-1", "svc-1")
    fake.put(service("late"))
    fake.control("POST", "/control/config", {"cache_lag": 3})
    now = int(fake.stats()["resourceVersion"])
    drv = ctx.driver_proc(fake, ["--no-watch-list"])
    wait_converged(fake, drv, what="sync from a lagging cache")
    lists = svc_requests(ctx, fake, "list")
    check([q.get("resourceVersion") for q in lists] == ["0"], f"lists: {lists}")
    m = re.search(r"resource=services objects=(\d+) resource_version=(\d+)", drv.log_text())
    check(m is not None, "no list complete line for services")
    assert m is not None
    check(int(m.group(2)) == now - 3 and m.group(1) == "10",
          f"the list was not the lagging one: {m.group(0)} (now {now})")
    watches = svc_requests(ctx, fake, "watch")
    check(watches and watches[0].get("resourceVersion") == m.group(2),
          f"the watch did not start at the list's RV: {watches[:1]}")
    drv.stop()


def t_watch_list_gone(ctx: "Ctx") -> None:
    """410 on the streaming path: the watch's 410 -> a streaming relist at the last RV; its 410
    -> a streaming list at an unset RV (the latest); a 410 there is a failure retried after
    the backoff, still streaming. Never a LIST."""
    fake = ctx.fake()
    populate(fake, 10)
    drv = ctx.driver_proc(fake)
    wait_converged(fake, drv, what="streaming sync")
    fake.put(service("during-outage"))
    fake.control("POST", "/control/compact", {})
    gone = {"fault": "status", "verb": "watch", "resource": "services", "code": 410}
    fake.fault([dict(gone, query={"sendInitialEvents": "true", "resourceVersion": "*"}),
                dict(gone, query={"sendInitialEvents": "true", "resourceVersion": ""})])
    fake.control("POST", "/control/watches/close", {"resource": "services"})

    def watches() -> list[tuple[Optional[str], Optional[str]]]:
        return [(q.get("sendInitialEvents"), q.get("resourceVersion"))
                for q in svc_requests(ctx, fake, "watch")]

    deadline = time.time() + 15
    while drv.dump()[1]["services"]["watch_lists"] < 4:
        check(time.time() < deadline, f"not 4 streaming lists: watches {watches()}")
        time.sleep(0.1)
    fake.put(service("after"))  # comes on the last streaming list's watch
    stats = wait_converged(fake, drv, what="after the 410s")
    check(fake.stats()["faults_applied"] == 2, "the 410s were not both served")
    seq = watches()
    check(len(seq) == 5, f"watches: {seq}")
    rv = seq[1][1]
    check(rv not in (None, "0"), f"the watch did not resume at the last RV: {seq}")
    check(seq == [("true", None), (None, rv), ("true", rv), ("true", None), ("true", None)],
          f"watches: {seq}")
    check(not svc_requests(ctx, fake, "list"), "a LIST was sent")
    st = stats["services"]
    check(st["relists_gone"] == 2 and st["watch_lists"] == 4 and st["failures"] >= 1
          and st["watch_list_fallbacks"] == 0, f"stats {st}")
    drv.stop()


TESTS: dict[str, Callable[["Ctx"], None]] = {
    "plan_kubeconfig_equals_from": t_plan_kubeconfig_equals_from,
    "sync_pagination": t_sync_pagination,
    "kubeconfig_variants": t_kubeconfig_variants,
    "events_in_order": t_events_in_order,
    "service_proxy_name": t_service_proxy_name,
    "faults_each": t_faults_each,
    "gone_relists_once": t_gone_relists_once,
    "continue_expired": t_continue_expired,
    "retry_after": t_retry_after,
    "stalled_watch": t_stalled_watch,
    "wrong_ca": t_wrong_ca,
    "missing_token": t_missing_token,
    "random_faults": t_random_faults,
    "http2_shared_connection": t_http2_shared_connection,
    "list_relist_sequence": t_list_relist_sequence,
    "watch_list_modern": t_watch_list_modern,
    "watch_list_old_server": t_watch_list_old_server,
    "watch_list_refused": t_watch_list_refused,
    "watch_list_hang": t_watch_list_hang,
    "list_cache_lag": t_list_cache_lag,
    "watch_list_gone": t_watch_list_gone,
}


class Ctx:
    def __init__(self, driver: str, fake_exe: str, workdir: str, kipvs: str = "") -> None:
        self.driver = driver
        self.kipvs = kipvs
        self.fake_exe = fake_exe
        self.workdir = workdir
        self.fakes: list[Fake] = []
        self.drivers: list[Driver] = []
        self.cleanups: list[Callable[[], Any]] = []

    def fake(self, name: str = "fake") -> Fake:
        d = os.path.join(self.workdir, name)
        os.makedirs(d, exist_ok=True)
        f = Fake(self.fake_exe, d)
        self.fakes.append(f)
        return f

    def driver_proc(self, fake: Fake, extra: Optional[list[str]] = None,
                    name: str = "driver") -> Driver:
        d = Driver(self.driver, self.workdir, base_args(fake) + (extra or []), name)
        self.drivers.append(d)
        return d

    @staticmethod
    def fake_log_requests(fake: Fake) -> list[dict[str, Any]]:
        return [r for r in fake.control("GET", "/control/requests")["requests"] if "resource" in r]

    def close(self) -> None:
        for d in self.drivers:
            try:
                d.stop()
            except TestFailure:
                pass
        for c in self.cleanups:
            c()
        for f in self.fakes:
            f.stop()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("test", choices=sorted(TESTS))
    p.add_argument("--driver", required=True)
    p.add_argument("--fake", required=True)
    p.add_argument("--kipvs", default="", help="the kipvs binary (plan acceptance test)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix=f"kipvs-api-{args.test}-")
    ctx = Ctx(args.driver, args.fake, workdir, args.kipvs)
    ok = False
    try:
        TESTS[args.test](ctx)
        ok = True
    except TestFailure as exc:
        print(f"FAIL {args.test}: {exc}")
    finally:
        ctx.close()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not ok:
            print(f"work directory kept: {workdir}")
    if ok:
        print(f"PASS {args.test}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

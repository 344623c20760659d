#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# HTTP-level tests of health/: the driver (health_driver) runs the health service on its libev
# loop; this script pushes state through the driver's stdin and probes the servers with a real
# HTTP client. /metrics is parsed with prometheus_client. Run: test_health_http.py NAME --driver P
import argparse
import datetime
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "pylib"))
from test_ports import free_port  # noqa: E402


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Driver:
    def __init__(self, path, *args):
        self.proc = subprocess.Popen([path, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        line = self.proc.stdout.readline().split()
        check(line and line[0] == "ready", "driver did not start: %r" % line)
        kv = dict(x.split("=") for x in line[1:])
        self.healthz = int(kv["healthz"])
        self.metrics = int(kv["metrics"])

    def cmd(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            check(line, "driver died during %r" % text)
            line = line.rstrip("\n")
            out.append(line)
            if line.startswith("ok") or line.startswith("err"):
                check(line.startswith("ok"), "%r answered %r" % (text, out))
                return out

    def close(self):
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
            except Failure:
                pass
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        check(self.proc.returncode == 0, "driver exited %s" % self.proc.returncode)


def get(port, path="/", method="GET", headers=None, host="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), body


def refused(port):
    try:
        get(port)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    return False


def refused_on(host, port):
    try:
        get(port, host=host)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    return False


def parse_rfc3339(text):
    check(text.endswith("Z"), "not UTC: %s" % text)
    base = text[:-1]
    if "." in base:
        base, frac = base.split(".")
        base += "." + (frac + "000000")[:6]
        return datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc)
    return datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)


# ---- fixtures: the S5 scenario (LoadBalancer, eTP Local) with a chosen port ----

def manifests(hc_port, ready=True, terminating=False, with_service=True, node_deleting=False):
    items = [{
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-a", "resourceVersion": "1"},
        "spec": {},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.240.0.5"}]},
    }]
    if node_deleting:
        items[0]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if with_service:
        items.append({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"namespace": "default", "name": "loadbalancer", "resourceVersion": "1"},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.0.41.9", "clusterIPs": ["10.0.41.9"],
                     "ipFamilies": ["IPv4"],
                     "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080,
                                "nodePort": 31500}],
                     "externalTrafficPolicy": "Local", "healthCheckNodePort": hc_port},
        })
    items.append({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"namespace": "default", "name": "loadbalancer-8xk2p", "resourceVersion": "1",
                     "labels": {"kubernetes.io/service-name": "loadbalancer"}},
        "addressType": "IPv4",
        "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.180.1.136"],
                       "conditions": {"ready": ready, "serving": True,
                                      "terminating": terminating},
                       "nodeName": "node-a"}],
    })
    return {"apiVersion": "v1", "kind": "List", "items": items}


def write(dirname, doc):
    path = os.path.join(dirname, "objects.json")
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f)
    os.rename(path + ".tmp", path)
    return dirname


# ---- tests ----

def test_healthz_livez(a):
    d = Driver(a.driver, "--sync-period", "30")
    try:
        st, hdr, body = get(d.healthz, "/healthz")
        check(st == 200, "initial /healthz %d" % st)
        check(hdr.get("content-type") == "application/json", "content type %r" % hdr)
        check(hdr.get("x-content-type-options") == "nosniff", "nosniff missing")
        doc = json.loads(body)
        check(doc["lastUpdated"] == "0001-01-01T00:00:00Z", "before sync: %r" % doc)
        check(doc["nodeEligible"] is True, "eligible: %r" % doc)
        now = datetime.datetime.now(datetime.timezone.utc)
        check(abs((parse_rfc3339(doc["currentTime"]) - now).total_seconds()) < 5,
              "currentTime %s" % doc["currentTime"])
        st, _, body = get(d.healthz, "/livez")
        check(st == 200 and "nodeEligible" not in json.loads(body), "livez %d %s" % (st, body))

        d.cmd("synced")
        doc = json.loads(get(d.healthz, "/healthz")[2])
        last = parse_rfc3339(doc["lastUpdated"])
        check(abs((last - now).total_seconds()) < 5, "lastUpdated %s" % doc["lastUpdated"])

        # A change queued 59 s ago with a 30 s period: still within 2 x period.
        d.cmd("queued 59")
        check(get(d.healthz, "/healthz")[0] == 200, "59 s pending should be healthy")
        d.cmd("synced")
        d.cmd("queued 61")
        st, _, body = get(d.healthz, "/healthz")
        check(st == 503, "61 s pending: /healthz %d" % st)
        check(get(d.healthz, "/livez")[0] == 503, "61 s pending: /livez not 503")
        # A later queued change does not reset the clock; only a sync does.
        d.cmd("queued 0")
        check(get(d.healthz, "/healthz")[0] == 503, "later queue reset the clock")
        d.cmd("synced")
        check(get(d.healthz, "/healthz")[0] == 200, "sync did not heal")

        d.cmd("eligible 0")
        st, _, body = get(d.healthz, "/healthz")
        check(st == 503 and json.loads(body)["nodeEligible"] is False, "ineligible %d" % st)
        check(get(d.healthz, "/livez")[0] == 200, "livez ignores eligibility")
        d.cmd("eligible 1")
        check(get(d.healthz, "/healthz")[0] == 200, "eligible again")

        st, _, body = get(d.healthz, "/nope")
        check(st == 404, "unknown path %d" % st)
        check(get(d.healthz, "/healthz", method="HEAD")[0] == 200, "HEAD")
    finally:
        d.close()


def test_node_deleting(a):
    with tempfile.TemporaryDirectory() as tmp:
        d = Driver(a.driver, "--node", "node-a")
        try:
            d.cmd("load " + write(tmp, manifests(free_port(), node_deleting=True)))
            st, _, body = get(d.healthz, "/healthz")
            check(st == 503 and json.loads(body)["nodeEligible"] is False,
                  "deleting node: %d %s" % (st, body))
            d.cmd("load " + write(tmp, manifests(free_port())))
            check(get(d.healthz, "/healthz")[0] == 200, "node no longer deleting")
        finally:
            d.close()


def test_proxymode_metrics(a):
    d = Driver(a.driver)
    try:
        st, hdr, body = get(d.metrics, "/proxyMode")
        check(st == 200 and body == "ipvs", "proxyMode %d %r" % (st, body))
        d.cmd("sample")
        st, hdr, body = get(d.metrics, "/metrics")
        check(st == 200, "metrics %d" % st)
        check(hdr.get("content-type", "").startswith("text/plain; version=0.0.4"),
              "content type %r" % hdr.get("content-type"))
        fams = {f.name: f for f in text_string_to_metric_families(body)}

        def sample(fam, suffix="", **labels):
            for s in fams[fam].samples:
                if s.name == fam + suffix and all(s.labels.get(k) == v
                                                  for k, v in labels.items()):
                    return s.value
            raise Failure("no sample %s%s %r in\n%s" % (fam, suffix, labels, body))

        # prometheus_client names counters without _total.
        want_types = {
            "kubeproxy_sync_proxy_rules_duration_seconds": "histogram",
            "kubeproxy_sync_proxy_rules_last_timestamp_seconds": "gauge",
            "kubeproxy_network_programming_duration_seconds": "histogram",
            "kubeproxy_sync_proxy_rules_service_changes_pending": "gauge",
            "kubeproxy_sync_proxy_rules_service_changes": "counter",
            "kubeproxy_sync_proxy_rules_endpoint_changes_pending": "gauge",
            "kubeproxy_sync_proxy_rules_endpoint_changes": "counter",
            "kubeproxy_sync_proxy_rules_no_local_endpoints_total": "gauge",
            "kipvs_netlink_operations": "counter",
            "kipvs_netlink_errors": "counter",
            "kipvs_draining_real_servers": "gauge",
            "kipvs_virtual_server_connections": "counter",
            "kipvs_virtual_server_packets": "counter",
            "kipvs_virtual_server_bytes": "counter",
        }
        for name, typ in want_types.items():
            check(name in fams, "family %s missing; have %s" % (name, sorted(fams)))
            check(fams[name].type == typ, "%s is %s, want %s" % (name, fams[name].type, typ))
        check(sample("kubeproxy_sync_proxy_rules_duration_seconds", "_count") == 1, "sync count")
        check(sample("kubeproxy_sync_proxy_rules_duration_seconds", "_bucket", le="0.016") == 1,
              "12 ms sync in le=0.016")
        check(sample("kubeproxy_sync_proxy_rules_duration_seconds", "_bucket", le="0.008") == 0,
              "12 ms sync not in le=0.008")
        check(abs(sample("kubeproxy_sync_proxy_rules_last_timestamp_seconds") - time.time()) < 10,
              "last timestamp")
        check(sample("kubeproxy_network_programming_duration_seconds", "_bucket", le="2") == 1,
              "1.5 s programming in le=2")
        check(sample("kubeproxy_network_programming_duration_seconds", "_bucket", le="1") == 0,
              "1.5 s programming not in le=1")
        check(sample("kubeproxy_sync_proxy_rules_service_changes", "_total") == 1, "svc changes")
        check(sample("kubeproxy_sync_proxy_rules_endpoint_changes_pending") == 0, "pending 0")
        check(sample("kubeproxy_sync_proxy_rules_no_local_endpoints_total",
                     traffic_policy="external") == 3, "no local external")
        check(sample("kipvs_netlink_operations", "_total", op="add_dest") == 1, "nl ops")
        check(sample("kipvs_netlink_errors", "_total", op="add_dest", errno="EEXIST") == 1,
              "nl errors")
        check(sample("kipvs_draining_real_servers") == 2, "draining")
        dns = dict(namespace="kube-system", service="kube-dns", port_name="dns",
                   vip="10.96.0.10:53/udp")
        check(sample("kipvs_virtual_server_connections", "_total", **dns) == 7, "conns")
        check(sample("kipvs_virtual_server_packets", "_total", direction="out", **dns) == 69,
              "outpkts")
        check(sample("kipvs_virtual_server_bytes", "_total", direction="out", **dns)
              == float(9007199254740993), "64-bit bytes")
        check("kipvs_virtual_server_bytes_total{namespace=\"kube-system\",service=\"kube-dns\","
              "port_name=\"dns\",vip=\"10.96.0.10:53/udp\",direction=\"out\"} 9007199254740993"
              in body, "64-bit counter printed exactly")
        check(sample("kipvs_virtual_server_connections", "_total", service='we"ird',
                     vip="[fd00::10]:80/tcp") == 1, "escaped label value")
        # The per-VS statistics are read at each scrape (the hook), not kept from the last one.
        body2 = get(d.metrics, "/metrics")[2]
        check('service="we\\"ird",port_name="",vip="[fd00::10]:80/tcp"} 2' in body2,
              "second scrape read the statistics again:\n%s" % body2)
        check(get(d.metrics, "/nope")[0] == 404, "unknown metrics path")
    finally:
        d.close()


def nodeport_get(port, path="/healthz"):
    st, hdr, body = get(port, path)
    check(hdr.get("content-type") == "application/json", "content type %r" % hdr)
    check(hdr.get("x-content-type-options") == "nosniff", "nosniff missing")
    doc = json.loads(body)
    check(doc["service"] == {"namespace": "default", "name": "loadbalancer"}, "svc %r" % doc)
    check(hdr.get("x-load-balancing-endpoint-weight") == str(doc["localEndpoints"]),
          "weight header %r vs %r" % (hdr.get("x-load-balancing-endpoint-weight"), doc))
    return st, doc


def test_nodeport(a):
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        d = Driver(a.driver, "--node", "node-a")
        other = Driver(a.driver, "--node", "node-b")
        try:
            doc = write(tmp, manifests(port))
            d.cmd("load " + doc)
            st, body = nodeport_get(port)
            check(st == 200 and body["localEndpoints"] == 1 and body["serviceProxyHealthy"],
                  "node with the pod: %d %r" % (st, body))
            st, _ = nodeport_get(port, "/any/other/path?x=1")
            check(st == 200, "any path answers")
        finally:
            d.close()
        # The same Service seen from a node without the pod (the first driver is gone, so the
        # port is free again).
        try:
            other.cmd("load " + write(tmp, manifests(port)))
            st, body = nodeport_get(port)
            check(st == 503 and body["localEndpoints"] == 0 and body["serviceProxyHealthy"],
                  "node without the pod: %d %r" % (st, body))
        finally:
            other.close()


def test_nodeport_terminating(a):
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        d = Driver(a.driver, "--node", "node-a")
        try:
            d.cmd("load " + write(tmp, manifests(port)))
            check(nodeport_get(port)[0] == 200, "ready pod")
            d.cmd("load " + write(tmp, manifests(port, ready=False, terminating=True)))
            st, body = nodeport_get(port)
            check(st == 503 and body["localEndpoints"] == 0,
                  "only pod terminating: %d %r" % (st, body))
        finally:
            d.close()


def test_nodeport_unhealthy_proxy(a):
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        d = Driver(a.driver, "--node", "node-a", "--sync-period", "1")
        try:
            d.cmd("load " + write(tmp, manifests(port)))
            d.cmd("queued 5")
            st, body = nodeport_get(port)
            check(st == 503 and body["localEndpoints"] == 1 and not body["serviceProxyHealthy"],
                  "stale proxy: %d %r" % (st, body))
        finally:
            d.close()


def test_nodeport_move(a):
    with tempfile.TemporaryDirectory() as tmp:
        p1, p2 = free_port(), free_port()
        d = Driver(a.driver, "--node", "node-a")
        try:
            d.cmd("load " + write(tmp, manifests(p1)))
            check(nodeport_get(p1)[0] == 200, "first port")
            check(refused(p2), "second port open too early")
            d.cmd("load " + write(tmp, manifests(p2)))
            check(refused(p1), "old port still open after the change")
            check(nodeport_get(p2)[0] == 200, "new port")
            d.cmd("load " + write(tmp, manifests(p2, with_service=False)))
            check(refused(p2), "port open after the Service was deleted")
            check(d.cmd("listening default loadbalancer")[-1] == "ok no", "still listening")
        finally:
            d.close()


def test_nodeport_bind_retry(a):
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    p_busy = free_port()
    busy.bind(("", p_busy))
    busy.listen(1)
    p_free = free_port()
    d = Driver(a.driver, "--node", "node-a", "--nodeport-addr", "127.0.0.1")
    try:
        d.cmd("svc default blocked %d 1" % p_busy)
        d.cmd("svc default fine %d 2" % p_free)
        check(d.cmd("listening default blocked")[-1] == "ok no", "bound a busy port")
        check(d.cmd("listening default fine")[-1] == "ok yes", "one failure stopped another")
        st, _, body = get(p_free)
        check(st == 200 and json.loads(body)["localEndpoints"] == 2, "fine svc %d" % st)
        busy.close()
        deadline = time.time() + 12
        while d.cmd("listening default blocked")[-1] != "ok yes":
            check(time.time() < deadline, "no retry within 12 s after the port came free")
            time.sleep(0.5)
        st, _, body = get(p_busy)
        check(st == 200 and json.loads(body)["service"]["name"] == "blocked", "after retry")
        # Only the configured node port address (127.0.0.1) listens, not ::1.
        check(not refused(p_free), "127.0.0.1 does not listen")
        check(refused_on("::1", p_free), "::1 listens though only 127.0.0.1 was configured")
    finally:
        busy.close()
        d.close()


def test_dual_stack(a):
    # With no --nodeport-addresses a node port listens on every IPv4 and IPv6 address, and a
    # bind address of [::] means both families too.
    port = free_port()
    d = Driver(a.driver, "--healthz", "[::]:0")
    try:
        d.cmd("svc default web %d 1" % port)
        for host in ("127.0.0.1", "::1"):
            st, _, body = get(port, host=host)
            check(st == 200 and json.loads(body)["localEndpoints"] == 1,
                  "node port on %s: %d" % (host, st))
            check(get(d.healthz, "/livez", host=host)[0] == 200, "[::] healthz on %s" % host)
    finally:
        d.close()


def test_limits(a):
    d = Driver(a.driver)
    try:
        # An oversized request header is refused, and the server keeps serving.
        st, _, _ = get(d.healthz, "/healthz", headers={"X-Big": "a" * 20000})
        check(st in (413, 414, 431, 400), "oversized request answered %d" % st)
        check(get(d.healthz, "/healthz")[0] == 200, "server dead after a big request")
        # Connections beyond the limit are not accepted into service.
        socks = []
        for _ in range(80):
            s = socket.create_connection(("127.0.0.1", d.healthz), timeout=2)
            socks.append(s)
        time.sleep(0.3)
        served = 0
        for s in socks:
            try:
                s.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    served += 1
            except OSError:
                pass
        for s in socks:
            s.close()
        # 64 per server, 32 per client address: one client gets at most 32.
        check(0 < served <= 32, "served %d of 80 concurrent connections (limit 32 per IP)" % served)
        time.sleep(0.3)
        check(get(d.healthz, "/livez")[0] == 200, "server dead after the connection flood")
    finally:
        d.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--driver", required=True)
    a = ap.parse_args()
    fn = globals().get("test_" + a.name)
    if not fn:
        print("unknown test %s" % a.name)
        return 2
    try:
        fn(a)
    except Failure as e:
        print("FAIL %s: %s" % (a.name, e))
        return 1
    print("PASS %s" % a.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

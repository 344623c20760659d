#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The end-to-end scale benchmark's table, written once for every program that programs it.

    scale_gen.py SERVICES ENDPOINTS FAMILY OUT     (FAMILY: 4, 6 or dual)

S ClusterIP Services (TCP port 80 -> 8080, scheduler rr) with D ready endpoints each (NAT,
weight 1), the addresses of bench/ipvs_bench_table.h (so bench/ipvs_bench_floor sends the same
table): Service i is 10.100.(i / 250).(i % 250 + 1) and fd00:100::(i + 1), its endpoint j
10.(200 + j).(i / 250).(i % 250 + 1) and fd00:(200 + j)::(i + 1) (hexadecimal groups).
Dual-stack Services have both addresses and one EndpointSlice per family. Writes to OUT:

  from/services.json, from/node.json, from/slices-NS.json
                     API lists for `kipvs run --from OUT/from`: the EndpointSlices of each
                     namespace in a file of its own, as `kubectl get endpointslices -n NS -o json`
                     writes them, so a change rewrites one namespace's file, not every slice
  api/services.json, api/slices.json, api/node.json   the same objects as three lists, for the
                     fake API server's --load
  rules              the same table as `ipvsadm -R` input
  keepalived.conf    the same table as keepalived virtual_server blocks (no health checkers)
  flip-K.json        K = 1..3: the slices file of Service K-1's namespace with its first endpoint
                     terminating (ready false, serving true): kipvs drains it at weight 0
  flip-K-slice.json  the one EndpointSlice flip K changes, as an object for the control API
  flips              "K VIP RIP FILE" per flip: the virtual and real server whose weight goes to
                     0, and the file of from/ that flip-K.json replaces
"""
import ipaddress
import json
import os
import sys

NODE = "bench-node"


def vip(af, i):
    if af == 4:
        return "10.100.%d.%d" % (i // 250, i % 250 + 1)
    return str(ipaddress.IPv6Address((0xFD000100 << 96) | (i + 1)))


def rip(af, i, j):
    if af == 4:
        return "10.%d.%d.%d" % (200 + j, i // 250, i % 250 + 1)
    return str(ipaddress.IPv6Address(((0xFD000000 | (0x200 + j)) << 96) | (i + 1)))


def hostport(addr, port):
    return "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)


def service(i, afs):
    ips = [vip(af, i) for af in afs]
    spec = {
        "type": "ClusterIP",
        "clusterIP": ips[0],
        "clusterIPs": ips,
        "ipFamilies": ["IPv%d" % af for af in afs],
        "ipFamilyPolicy": "RequireDualStack" if len(afs) > 1 else "SingleStack",
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
    }
    return {
        "metadata": {"name": "svc-%d" % i, "namespace": "ns-%d" % (i % 50),
                     "uid": "uid-%d" % i, "resourceVersion": str(1000 + i)},
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def slice_(i, af, d, terminating):
    eps = []
    for j in range(d):
        drain = j == 0 and terminating
        eps.append({
            "addresses": [rip(af, i, j)],
            "conditions": {"ready": not drain, "serving": True, "terminating": drain},
            "nodeName": "node-%d" % (j % 100),
            "targetRef": {"kind": "Pod", "name": "p-%d-%d" % (i, j),
                          "namespace": "ns-%d" % (i % 50)},
        })
    return {
        "metadata": {"name": "svc-%d-v%d" % (i, af), "namespace": "ns-%d" % (i % 50),
                     "resourceVersion": str(50000 + i + (7 if terminating else 0)),
                     "labels": {"kubernetes.io/service-name": "svc-%d" % i}},
        "addressType": "IPv%d" % af,
        "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
        "endpoints": eps,
    }


def api_list(kind, api_version, items):
    return '{"kind":"%s","apiVersion":"%s","metadata":{},"items":[%s]}' % (
        kind, api_version, ",".join(items))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    if len(sys.argv) != 5 or sys.argv[3] not in ("4", "6", "dual"):
        sys.exit("usage: scale_gen.py SERVICES ENDPOINTS 4|6|dual OUT")
    s, d, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[4]
    afs = {"4": [4], "6": [6], "dual": [4, 6]}[sys.argv[3]]
    if not 3 <= s <= 64000 or not 1 <= d <= 55:
        sys.exit("scale_gen.py: 3 <= SERVICES <= 64000, 1 <= ENDPOINTS <= 55")
    for d_ in ("from", "api"):
        os.makedirs(os.path.join(out, d_), exist_ok=True)
    dumps = lambda o: json.dumps(o, separators=(",", ":"))
    node = dumps({
        "kind": "Node", "apiVersion": "v1", "metadata": {"name": NODE},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.10"}]}})
    services = api_list("ServiceList", "v1", (dumps(service(i, afs)) for i in range(s)))
    for d_ in ("from", "api"):
        write(os.path.join(out, d_, "services.json"), services)
        write(os.path.join(out, d_, "node.json"), node)
    slices = [dumps(slice_(i, af, d, False)) for i in range(s) for af in afs]
    slice_list = lambda items: api_list("EndpointSliceList", "discovery.k8s.io/v1", items)
    write(os.path.join(out, "api", "slices.json"), slice_list(slices))

    # Slice n of the list belongs to Service n // len(afs), whose namespace is ns-(that % 50).
    def namespace_slices(ns):
        return slice_list(x for n, x in enumerate(slices) if (n // len(afs)) % 50 == ns)
    for ns in range(min(s, 50)):
        write(os.path.join(out, "from", "slices-ns-%d.json" % ns), namespace_slices(ns))

    # Flip k drains endpoint 0 of Service k-1 (its first family's slice), on top of flips < k.
    af0 = afs[0]
    flips = []
    for k in range(1, 4):
        svc = k - 1
        obj = slice_(svc, af0, d, True)
        slices[svc * len(afs)] = dumps(obj)
        write(os.path.join(out, "flip-%d.json" % k), namespace_slices(svc % 50))
        obj = dict(obj, kind="EndpointSlice", apiVersion="discovery.k8s.io/v1")
        write(os.path.join(out, "flip-%d-slice.json" % k), dumps(obj))
        flips.append("%d %s %s slices-ns-%d.json" % (k, vip(af0, svc), rip(af0, svc, 0), svc % 50))
    write(os.path.join(out, "flips"), "\n".join(flips) + "\n")

    rules, ka = [], ["global_defs {\n    router_id bench\n}\n"]
    for af in afs:
        for i in range(s):
            v = hostport(vip(af, i), 80)
            rules.append("-A -t %s -s rr" % v)
            ka.append("virtual_server %s 80 {\n    lb_algo rr\n    lb_kind NAT\n"
                      "    protocol TCP\n" % vip(af, i))
            for j in range(d):
                rules.append("-a -t %s -r %s -m -w 1" % (v, hostport(rip(af, i, j), 8080)))
                ka.append("    real_server %s 8080 {\n        weight 1\n    }\n" % rip(af, i, j))
            ka.append("}\n")
    write(os.path.join(out, "rules"), "\n".join(rules) + "\n")
    write(os.path.join(out, "keepalived.conf"), "".join(ka))


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: Apache-2.0
# Helpers the fw_*.sh guest tests source (after test/vm/lib.sh): write a --from file from a
# compact description of Services, one per line:
#   NAME TYPE CLUSTERIP PORT/PROTO[:TARGET] [node=N] [etp=Local] [lb=IP] [ranges=CIDR,..]
#        [hc=N] [eps=IP@NODE,...]
# with two nodes, node-a (192.168.49.3) and node-b (192.168.49.4).
# usage: fw_fixture FILE <<'EOF' ... EOF
fw_fixture() {
    FW_FIXTURE_DESC=$(cat) python3 - "$1" <<'PY'
import os
import json, sys
items = []
for n, ip in (("node-a", "192.168.49.3"), ("node-b", "192.168.49.4")):
    items.append({"apiVersion": "v1", "kind": "Node",
                  "metadata": {"name": n, "resourceVersion": "1"},
                  "status": {"addresses": [{"type": "InternalIP", "address": ip}]}})
for line in os.environ["FW_FIXTURE_DESC"].splitlines():
    f = line.split()
    if not f or f[0].startswith("#"):
        continue
    name, typ, cip, portspec = f[:4]
    opts = dict(o.split("=", 1) for o in f[4:])
    pp, _, target = portspec.partition(":")
    port, proto = pp.split("/")
    sp = {"port": int(port), "protocol": proto.upper(), "targetPort": int(target or port)}
    if "node" in opts:
        sp["nodePort"] = int(opts["node"])
    spec = {"type": typ, "clusterIP": cip, "clusterIPs": [cip], "ipFamilies": ["IPv4"],
            "ports": [sp]}
    if "etp" in opts:
        spec["externalTrafficPolicy"] = opts["etp"]
    if "hc" in opts:
        spec["healthCheckNodePort"] = int(opts["hc"])
    if "ranges" in opts:
        spec["loadBalancerSourceRanges"] = opts["ranges"].split(",")
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"namespace": "default", "name": name, "uid": "uid-" + name,
                        "resourceVersion": "1"}, "spec": spec}
    if "lb" in opts:
        svc["status"] = {"loadBalancer": {"ingress": [{"ip": opts["lb"]}]}}
    items.append(svc)
    eps = []
    for e in opts.get("eps", "").split(","):
        if e:
            ip, _, node = e.partition("@")
            eps.append({"addresses": [ip], "conditions": {"ready": True}, "nodeName": node})
    items.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"namespace": "default", "name": name + "-1", "resourceVersion": "1",
                               "labels": {"kubernetes.io/service-name": name}},
                  "addressType": "IPv4",
                  "ports": [{"name": "", "port": sp["targetPort"], "protocol": sp["protocol"]}],
                  "endpoints": eps})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[1], "w"), indent=1)
PY
}

# The elements of one set of table inet kipvs in namespace $1, one per line, sorted.
fw_set_elements() {
    ip netns exec "$1" nft list set inet kipvs "$2" |
        tr -s ' \n\t' ' ' | sed -n 's/.*elements = { *\([^}]*\)}.*/\1/p' |
        tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -v '^$' | sort
}

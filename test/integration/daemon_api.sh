#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: `kipvs run` against the fake API server (TLS, token) loaded with the
# reference scenarios S1, S6 and S8. Nothing is programmed until the Node is listed (the
# streaming list, a watch, by default; LIST on older servers: both fail until allowed); then
# the kernel table equals `kipvs plan` of the same objects and traffic through S1's ClusterIP
# reaches both pods. Creating, updating and deleting a Service and its EndpointSlice reach the
# kernel within a generous deadline (the latency is printed, not asserted) with the minimal
# netlink operations (asserted on kipvs_netlink_operations_total); drift (a VS deleted by hand,
# then `ipvsadm -C`) is repaired by the periodic verification; the packet path's nftables
# table holds the virtual addresses; /healthz, /livez, /proxyMode
# and /metrics answer (metrics parsed with prometheus_client).
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/daemon_lib.sh"

[ -x "$KIPVS" ] || fail "no kipvs binary at '$KIPVS'"
ipvs_load
work=/tmp/daemon-api
mkdir -p "$work/scen"
for s in s01-clusterip-basic s06-terminating s08-affinity; do
    cp "$SRC/test/fixtures/scenarios/$s.json" "$work/scen/"
done
M=http://127.0.0.1:10249
H=http://127.0.0.1:10256

step "pods of S1 (10.244.2.5:80, 10.244.3.4:80) and a client (10.0.0.2)"
netns_pod s1-a 10.244.2.5/24 10.244.2.1
netns_pod s1-b 10.244.3.4/24 10.244.3.1
netns_pod client 10.0.0.2/24 10.0.0.1
serve_http s1-a 80 s1-a
serve_http s1-b 80 s1-b

step "fake API server with S1, S6, S8; the Node list (LIST or streaming watch) fails for now"
fake_start "$work/fake" --token secret --load "$work/scen/s01-clusterip-basic.json" \
    --load "$work/scen/s06-terminating.json" --load "$work/scen/s08-affinity.json"
ctl POST /control/faults '{"fault":"status","resource":"nodes","verb":"*","count":-1,"code":500}' >/dev/null

step "kipvs run ($KIPVS): nothing programmed while the Node is not listed"
kipvs_start a "" --kubeconfig "$FAKE_DIR/kubeconfig-token.yaml" --hostname-override node-a \
    --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249 \
    --ipvs-sync-period 5s --ipvs-drain-timeout 10s
t0=$(now_ms)
wait_until "kipvs serves /metrics" 60 curl -sf "$M/metrics"
sleep 2
kipvs_alive a
expect_eq "table before the Node is listed" "$(table)" ""
# The fault must have been what held it back: kipvs did try to list the Node.
failed=$(ctl GET /control/stats | sed -n 's/.*"faults_applied": *\([0-9]*\).*/\1/p')
[ "${failed:-0}" -ge 1 ] || fail "the Node was never asked for while the fault was set"
code=$(curl -s -o /dev/null -w '%{http_code}' "$H/healthz")
echo "/healthz before the first sync: $code"

step "the Node list succeeds: the table equals kipvs plan of S1+S6+S8"
want=$(plan_of "$work/scen" --hostname-override node-a)
[ -n "$want" ] || fail "empty plan"
ctl DELETE /control/faults >/dev/null
t1=$(now_ms)
wait_until "initial table" 60 table_is "$want"
echo "BENCH initial sync: $(($(now_ms) - t1)) ms after the Node list was allowed ($(($(now_ms) - t0)) ms after start)"
ipvsadm -Ln
nft list table inet kipvs >"$work/nft.txt" || fail "no nftables table inet kipvs"
grep -q '10.0.162.149' "$work/nft.txt" || fail "the packet path's sets lack S1's ClusterIP"

step "traffic through S1's ClusterIP reaches both pods"
answers=""
for i in 1 2 3 4; do answers="$answers $(http_get client http://10.0.162.149/)"; done
echo "answers:$answers"
[[ "$answers" == *s1-a* && "$answers" == *s1-b* ]] || fail "round-robin over both pods: got '$answers'"

svc='{"kind":"Service","apiVersion":"v1","metadata":{"namespace":"default","name":"web"},
 "spec":{"type":"ClusterIP","clusterIP":"10.96.5.5","clusterIPs":["10.96.5.5"],
 "ipFamilies":["IPv4"],"ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":80}]}}'
slice() {
    echo '{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1",
 "metadata":{"namespace":"default","name":"web-1","labels":{"kubernetes.io/service-name":"web"},
  "annotations":{"endpoints.kubernetes.io/last-change-trigger-time":"'"$(date -u +%Y-%m-%dT%H:%M:%SZ)"'"}},
 "addressType":"IPv4","ports":[{"name":"http","port":80,"protocol":"TCP"}],"endpoints":[
 {"addresses":["10.244.2.5"],"conditions":{"ready":true},"nodeName":"node-a"},
 {"addresses":["10.244.3.4"],"conditions":{"ready":'"$1"',"serving":true,"terminating":'"$2"'},"nodeName":"node-b"}]}'
}
web_both="-A -t 10.96.5.5:80 -s rr
-a -t 10.96.5.5:80 -r 10.244.2.5:80 -m -w 1
-a -t 10.96.5.5:80 -r 10.244.3.4:80 -m -w 1"
web_drain="-A -t 10.96.5.5:80 -s rr
-a -t 10.96.5.5:80 -r 10.244.2.5:80 -m -w 1
-a -t 10.96.5.5:80 -r 10.244.3.4:80 -m -w 0"

step "create Service default/web and its EndpointSlice"
before=$(ops "$M")
t=$(now_ms)
ctl POST /control/objects "$svc" >/dev/null
ctl POST /control/objects "$(slice true false)" >/dev/null
wait_until "web programmed" 30 table_is "$want
$web_both"
echo "BENCH create -> kernel: $(($(now_ms) - t)) ms"
sleep 1
delta=$(ops_delta "$before" "$(ops "$M")")
echo "netlink operations: $delta"
expect_eq "operations for a new Service with two endpoints" "$delta" \
    "add_address=+1 add_dest=+2 add_service=+1"
expect_eq "web answers" "$(http_get client http://10.96.5.5/ | grep -c s1-)" 1

step "update: one endpoint terminating (serving) -> weight 0, one SET_DEST"
before=$(ops "$M")
t=$(now_ms)
ctl POST /control/objects "$(slice false true)" >/dev/null
wait_until "weight 0" 30 table_is "$want
$web_drain"
echo "BENCH update -> kernel: $(($(now_ms) - t)) ms"
sleep 1
delta=$(ops_delta "$before" "$(ops "$M")")
echo "netlink operations: $delta"
expect_eq "operations for one weight change" "$delta" "set_dest=+1"
for i in 1 2 3; do
    expect_eq "with 10.244.3.4 at weight 0" "$(http_get client http://10.96.5.5/)" s1-a
done

step "an update the plan absorbs (a new resourceVersion, same endpoints): no operation"
before=$(ops "$M")
ctl POST /control/objects "$(slice false true | sed 's/"node-b"/"node-b","zone":"z1"/')" >/dev/null
sleep 2
expect_eq "operations for an irrelevant change" "$(ops_delta "$before" "$(ops "$M")")" ""

step "delete the Service: its real servers drain (10 s at most), then the virtual server and address go"
before=$(ops "$M")
t=$(now_ms)
ctl DELETE /control/objects/Service/default/web >/dev/null
web_gone() { ! table | grep -q -- '-a -t 10.96.5.5:80 -r 10.244.2.5:80 -m -w 1$'; }
wait_until "web's real servers at weight 0 or gone" 30 web_gone
echo "BENCH delete -> draining: $(($(now_ms) - t)) ms"
table | grep 10.96.5.5 || true
wait_until "web removed" 40 table_is "$want"
echo "BENCH delete -> kernel: $(($(now_ms) - t)) ms"
wait_until "10.96.5.5 unbound" 10 sh -c '! ip -o addr show dev kube-ipvs0 | grep -q "10.96.5.5/"'
sleep 1
delta=$(ops_delta "$before" "$(ops "$M")")
echo "netlink operations: $delta"
[[ "$delta" =~ ^(del_address=\+1\ )?(del_dest=\+[0-2]\ )?del_service=\+1(\ set_dest=\+[0-2])?$ ]] ||
    fail "operations for a deleted Service: '$delta'"
ctl DELETE /control/objects/EndpointSlice/default/web-1 >/dev/null

step "drift: a virtual server deleted by hand comes back at the next verification"
ipvsadm -D -t 10.0.162.149:80
wait_until "10.0.162.149:80 repaired" 20 table_is "$want"
echo "BENCH repaired after $WAITED_MS ms (sync period 5 s)"
step "drift: ipvsadm -C, everything comes back"
ipvsadm -C
wait_until "table repaired after ipvsadm -C" 20 table_is "$want"
echo "BENCH repaired after $WAITED_MS ms"
for i in 1 2; do http_get client http://10.0.162.149/ >/dev/null; done

# The addresses are verified too: the dummy interface and the other interfaces are read again.
has_vip() { ip -o addr show dev "$1" | grep -q " 10.0.162.149/32 "; }
step "drift: a ClusterIP deleted from kube-ipvs0 is bound again at the next verification"
ip addr del 10.0.162.149/32 dev kube-ipvs0
wait_until "10.0.162.149 bound again" 20 has_vip kube-ipvs0
echo "BENCH address repaired after $WAITED_MS ms"
http_get client http://10.0.162.149/ >/dev/null
step "drift: kube-ipvs0 deleted, created again with its addresses"
n_vips=$(ip -o addr show dev kube-ipvs0 | wc -l)
ip link del kube-ipvs0
wait_until "kube-ipvs0 and 10.0.162.149 back" 20 has_vip kube-ipvs0
expect_eq "addresses on the new kube-ipvs0" "$(ip -o addr show dev kube-ipvs0 | wc -l)" "$n_vips"
kipvs_log a | grep -q 'msg="dummy interface was gone, created again" if=kube-ipvs0' ||
    fail "no log line for the recreated interface"
http_get client http://10.0.162.149/ >/dev/null
step "an address that moves to another interface is left to it, and taken back when it goes"
ip addr add 10.0.162.149/32 dev lo
ip addr del 10.0.162.149/32 dev kube-ipvs0
sleep 12 # two verification periods
! has_vip kube-ipvs0 || fail "10.0.162.149 bound on kube-ipvs0 while lo holds it"
http_get client http://10.0.162.149/ >/dev/null # lo's address is as local to IPVS
ip addr del 10.0.162.149/32 dev lo
wait_until "10.0.162.149 taken back by kube-ipvs0" 20 has_vip kube-ipvs0
http_get client http://10.0.162.149/ >/dev/null

step "/healthz, /livez, /proxyMode"
body=$(curl -sS -w ' %{http_code}' "$H/healthz")
echo "/healthz: $body"
[[ "$body" == *'"nodeEligible": true}'*' 200' ]] || fail "/healthz: $body"
[[ "$body" != *0001-01-01* ]] || fail "/healthz: lastUpdated never set: $body"
body=$(curl -sS -w ' %{http_code}' "$H/livez")
[[ "$body" == *' 200' ]] || fail "/livez: $body"
expect_eq "/proxyMode" "$(curl -sS "$M/proxyMode")" ipvs

step "/metrics parsed with prometheus_client"
curl -sS "$M/metrics" >"$work/metrics.txt"
sleep 5 # one more verification period: the per-VS counters are refreshed
curl -sS "$M/metrics" >"$work/metrics.txt"
"$PY" - "$work/metrics.txt" <<'EOF' || fail "metrics check"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def need(name):
    if name not in fams:
        sys.exit("missing family %s (have %s)" % (name, sorted(fams)))
    return fams[name]
last = need("kubeproxy_sync_proxy_rules_last_timestamp_seconds").samples[0].value
assert last > 1e9, last
h = need("kubeproxy_sync_proxy_rules_duration_seconds")
count = [s.value for s in h.samples if s.name.endswith("_count")][0]
assert count >= 3, count
ops = {s.labels["op"]: s.value for s in need("kipvs_netlink_operations").samples
       if s.name == "kipvs_netlink_operations_total"}
assert ops.get("add_service", 0) >= 8 and ops.get("set_dest", 0) >= 1, ops
conns = {(s.labels["service"], s.labels["vip"]): s.value
         for s in need("kipvs_virtual_server_connections").samples
         if s.name == "kipvs_virtual_server_connections_total"}
assert conns.get(("my-nginx", "10.0.162.149:80/tcp"), 0) >= 2, conns
# The kernel's 64-bit packet and byte counters, with every label of the virtual server.
nginx = {"namespace": "default", "service": "my-nginx", "port_name": "",
         "vip": "10.0.162.149:80/tcp"}
for fam in ("kipvs_virtual_server_packets", "kipvs_virtual_server_bytes"):
    got = {s.labels["direction"]: s.value for s in need(fam).samples
           if s.name == fam + "_total" and {k: s.labels.get(k) for k in nginx} == nginx}
    assert got.get("in", 0) > 0 and got.get("out", 0) > 0, (fam, got)
# web's slices carried endpoints.kubernetes.io/last-change-trigger-time: observed.
prog = [s.value for s in need("kubeproxy_network_programming_duration_seconds").samples
        if s.name.endswith("_count")][0]
assert prog >= 1, prog
changes = {n: need("kubeproxy_sync_proxy_rules_%s_changes" % n).samples[0].value
           for n in ("service", "endpoint")}
assert changes["service"] >= 2 and changes["endpoint"] >= 3, changes
for n in ("service", "endpoint"):
    v = need("kubeproxy_sync_proxy_rules_%s_changes_pending" % n).samples[0].value
    assert v == 0, (n, "pending after the syncs", v)
print("metrics ok: %d families, syncs %d, ops %s, my-nginx conns %d, programming %d, changes %s" % (
    len(fams), count, ops, conns[("my-nginx", "10.0.162.149:80/tcp")], prog, changes))
EOF

# The HTTP servers run on the daemon's one libev loop (libmicrohttpd without threads).
expect_eq "kipvs's threads" "$(ls "/proc/${KIPVS_PIDS[a]}/task" | wc -l)" 1
kipvs_alive a
kipvs_stop a TERM
expect_eq "table after SIGTERM (left in place)" "$(table)" "$(sort <<<"$want")"
fake_stop
grep -E 'level=(warn|error)' /tmp/kipvs-a.log || true
echo "ok daemon_api"

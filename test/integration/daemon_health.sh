#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: the daemon's health-check node ports, systemd notifications and
# --config. Reference scenario S5 (LoadBalancer, externalTrafficPolicy Local,
# healthCheckNodePort 32122) on two nodes: kipvs in the root namespace as the pod's node answers
# 200 with localEndpoints 1; a second kipvs in another network namespace as the other node
# answers 503 with 0; the pod terminating gives 503 with 0; a port change moves the listener.
# A notify socket receives READY=1 only once the table is programmed (the first Service list
# is held back by faults), then WATCHDOG=1 pings and STOPPING=1. A kube-proxy configuration file
# (--config) gives the same effective settings as the equivalent flags.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/daemon_lib.sh"

[ -x "$KIPVS" ] || fail "no kipvs binary at '$KIPVS'"
ipvs_load
work=/tmp/daemon-health
mkdir -p "$work"
s5=$SRC/test/fixtures/scenarios/s05-lb-local.json

# hc NS PORT: "CODE BODY" of the health-check node port at 127.0.0.1:PORT from NS.
hc() {
    in_ns "$1" curl -sS --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$2/" 2>&1 || true
}
# hc_is NS PORT CODE LOCAL: the answer has status CODE and localEndpoints LOCAL.
hc_is() {
    local got
    got=$(hc "$1" "$2")
    [[ "$got" == *"\"localEndpoints\":$4,"*" $3" ]]
}

step "node 2 as a network namespace (192.168.100.2) reaching the API server on 192.168.100.1"
netns_add node2
veth_pair "" v-node2 node2 eth0
ip addr add 192.168.100.1/24 dev v-node2
ip -n node2 addr add 192.168.100.2/24 dev eth0

step "fake API server (TLS, every address) with S5; the first three Service lists (streaming or LIST) fail"
fake_start "$work/fake" --address 0.0.0.0 --san 192.168.100.1 --load "$s5"
ctl POST /control/faults '{"fault":"status","resource":"services","verb":"*","count":3,"code":500}' >/dev/null
kc=$FAKE_DIR/kubeconfig-token.yaml
sed 's#https://127.0.0.1:#https://192.168.100.1:#' "$kc" >"$work/kubeconfig-node2.yaml"

step "a notify socket listener"
"$PY" - "$work/notify.sock" "$work/notify.log" <<'EOF' &
import socket, subprocess, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
out.write("listening\n")
while True:
    data = s.recv(4096).decode()
    extra = ""
    if "READY=1" in data.split("\n"):
        table = subprocess.run(["ipvsadm", "-Sn"], capture_output=True, text=True).stdout
        extra = " table_services=%d" % sum(1 for l in table.splitlines() if l.startswith("-A"))
    out.write("%.3f %s%s\n" % (time.monotonic(), data.replace("\n", " | "), extra))
EOF
listener=$!
wait_until "listener up" 30 grep -q listening "$work/notify.log"

step "kipvs on kubernetes-node-6jst (the pod's node), under the notify socket with a 1 s watchdog"
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=1000000 kipvs_start a "" --kubeconfig "$kc" \
    --hostname-override kubernetes-node-6jst --healthz-bind-address 127.0.0.1:10256 \
    --metrics-bind-address 127.0.0.1:10249
want=$(plan_of "$s5" --hostname-override kubernetes-node-6jst)
wait_until "S5 programmed" 60 table_is "$want"
wait_until "READY=1" 20 grep -q 'READY=1' "$work/notify.log"
cat "$work/notify.log"
ready=$(grep -m1 'READY=1' "$work/notify.log")
[[ "$ready" == *"table_services=3" ]] || fail "READY=1 before the table was programmed: $ready"
grep -q 'STATUS=waiting' <(sed -n '1,/READY=1/p' "$work/notify.log") ||
    fail "no waiting STATUS before READY=1"
grep -qE '(watch|list) failed" resource=services status=500' /tmp/kipvs-a.log ||
    fail "the held-back Service list did not happen"

step "kipvs on kubernetes-node-7ab1 in namespace node2"
kipvs_start b node2 --kubeconfig "$work/kubeconfig-node2.yaml" \
    --hostname-override kubernetes-node-7ab1 --healthz-bind-address 127.0.0.1:10256 \
    --metrics-bind-address 127.0.0.1:10249
want_b=$(plan_of "$s5" --hostname-override kubernetes-node-7ab1)
wait_until "S5 programmed on node 2" 60 table_is "$want_b" node2

step "health-check node port 32122: 200 with the pod, 503 without"
wait_until "node 1: 200, localEndpoints 1" 20 hc_is "" 32122 200 1
echo "node 1: $(hc "" 32122)"
wait_until "node 2: 503, localEndpoints 0" 20 hc_is node2 32122 503 0
echo "node 2: $(hc node2 32122)"
nolocal() {
    in_ns "$1" curl -sS --max-time 5 http://127.0.0.1:10249/metrics |
        grep -F 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="external"}' |
        awk '{print $2}'
}
expect_eq "node 1: Services with eTP=Local and no local endpoint" "$(nolocal "")" 0
expect_eq "node 2: Services with eTP=Local and no local endpoint" "$(nolocal node2)" 1

slice() {
    echo '{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"namespace":"default",
 "name":"loadbalancer-8xk2p","labels":{"kubernetes.io/service-name":"loadbalancer"}},"addressType":"IPv4",
 "ports":[{"name":"","port":8080,"protocol":"TCP"}],"endpoints":[{"addresses":["10.180.1.136"],
 "conditions":{"ready":'"$1"',"serving":true,"terminating":'"$2"'},"nodeName":"kubernetes-node-6jst"}]}'
}
step "the only pod terminating: node 1 answers 503 with 0"
ctl POST /control/objects "$(slice false true)" >/dev/null
wait_until "node 1: 503, localEndpoints 0" 20 hc_is "" 32122 503 0
echo "node 1: $(hc "" 32122)"
ctl POST /control/objects "$(slice true false)" >/dev/null
wait_until "node 1: 200 again" 20 hc_is "" 32122 200 1

step "healthCheckNodePort 32122 -> 32123: the listener moves"
ctl GET /control/state | "$PY" -c 'import json, sys
for o in json.load(sys.stdin)["objects"]:
    if o["kind"] == "Service" and o["metadata"]["name"] == "loadbalancer":
        o["spec"]["healthCheckNodePort"] = 32123
        print(json.dumps(o))' >"$work/svc.json"
ctl POST /control/objects "$(cat "$work/svc.json")" >/dev/null
wait_until "node 1: 200 on 32123" 20 hc_is "" 32123 200 1
wait_until "node 1: nothing on 32122" 20 sh -c '! curl -s --max-time 2 http://127.0.0.1:32122/'
echo "node 1 on 32123: $(hc "" 32123)"

step "watchdog pings, then STOPPING=1 on SIGTERM"
sleep 2
pings=$(grep -c 'WATCHDOG=1' "$work/notify.log" || true)
echo "WATCHDOG=1 pings so far: $pings"
[ "$pings" -ge 4 ] || fail "too few watchdog pings: $pings"
kipvs_stop a TERM
kipvs_stop b TERM
wait_until "STOPPING=1" 10 grep -q 'STOPPING=1' "$work/notify.log"
kill "$listener" 2>/dev/null || true

step "--config with a kube-proxy configuration file equals its flags"
cat >"$work/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $kc
hostnameOverride: kubernetes-node-6jst
mode: ipvs
bindAddress: 0.0.0.0
healthzBindAddress: 127.0.0.1:10266
metricsBindAddress: 127.0.0.1:10259
ipvs:
  scheduler: wrr
  syncPeriod: 7s
  minSyncPeriod: 1s
  tcpTimeout: 0s
  tcpFinTimeout: 0s
  udpTimeout: 0s
EOF
kipvs_start c "" --config "$work/kube-proxy.yaml"
wait_until "wrr from the file" 60 sh -c 'ipvsadm -Sn | grep -q -- "-s wrr"'
wait_until "/healthz on the file's address" 20 curl -sf http://127.0.0.1:10266/healthz
wait_until "/metrics on the file's address" 20 curl -sf http://127.0.0.1:10259/metrics
table_c=$(table)
kipvs_stop c TERM
kipvs_start f "" --kubeconfig "$kc" --hostname-override kubernetes-node-6jst \
    --healthz-bind-address 127.0.0.1:10266 --metrics-bind-address 127.0.0.1:10259 \
    --ipvs-scheduler wrr --ipvs-sync-period 7s --ipvs-min-sync-period 1s
wait_until "/healthz with the flags" 60 curl -sf http://127.0.0.1:10266/healthz
wait_until "first sync with the flags" 60 grep -q 'msg="sync:' /tmp/kipvs-f.log
start_c=$(grep -m1 'msg=starting' /tmp/kipvs-c.log)
start_f=$(grep -m1 'msg=starting' /tmp/kipvs-f.log)
echo "with --config: $start_c"
echo "with flags:    $start_f"
expect_eq "effective settings" "$start_f" "$start_c"
first=$(grep -m1 'msg="sync:' /tmp/kipvs-f.log)
[[ "$first" == *'msg="sync: services +0 ~0 -0, destinations +0 ~0 -0, addresses +0 -0'* ]] ||
    fail "the flags asked for a different table than the file: $first"
expect_eq "table with the flags" "$(table)" "$table_c"
kipvs_stop f TERM

step "--nodeport-addresses 192.168.100.0/24: NodePorts and health-check node ports on the interface address inside it"
kipvs_start n "" --kubeconfig "$kc" --hostname-override kubernetes-node-6jst \
    --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249 \
    --nodeport-addresses 192.168.100.0/24
wait_until "NodePort on 192.168.100.1" 60 sh -c 'ipvsadm -Sn | grep -q -- "-A -t 192.168.100.1:31500"'
wait_until "no NodePort on the Node object's address" 30 sh -c '! ipvsadm -Sn | grep -q -- "-A -t 10.240.0.5:31500"'
grep -m1 'msg="node addresses"' /tmp/kipvs-n.log
wait_until "health-check node port on 192.168.100.1" 20 curl -s --max-time 2 http://192.168.100.1:32123/
curl -s --max-time 2 http://127.0.0.1:32123/ >/dev/null && fail "the health-check node port still listens on 127.0.0.1"
kipvs_stop n TERM
fake_stop
echo "ok daemon_health"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: `kipvs run` keeps traffic flowing through everything around it. A
# client requests S1's ClusterIP in a loop and a watcher samples the kernel table throughout:
# faults injected into the API stream (dropped and cut watch events, garbage, 5xx, closed
# watches), a restart of the API server (with compaction, so the client must relist), a
# SIGTERM restart and a `kill -9` restart of kipvs. The table is never empty, always converges
# to `kipvs plan` of the server's state, each restarted kipvs makes zero kernel changes, and
# the client sees zero failed requests.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/daemon_lib.sh"

[ -x "$KIPVS" ] || fail "no kipvs binary at '$KIPVS'"
ipvs_load
work=/tmp/daemon-restart
mkdir -p "$work"
M=http://127.0.0.1:10249
H=http://127.0.0.1:10256
args=(--hostname-override node-a --healthz-bind-address 127.0.0.1:10256
    --metrics-bind-address 127.0.0.1:10249 --ipvs-sync-period 5s)
zero='sync: services +0 ~0 -0, destinations +0 ~0 -0, addresses +0 -0'

# state_plan: kipvs plan of the fake server's current objects.
state_plan() {
    ctl GET /control/state | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
print(json.dumps({"kind": "List", "apiVersion": "v1", "items": d["objects"]}))' >"$work/state.json"
    plan_of "$work/state.json" --hostname-override node-a
}

# converged: the kernel equals the plan of the server's state.
converged() {
    table_is "$(state_plan)"
}

# rv_now: the fake server's current resourceVersion.
rv_now() {
    ctl GET /control/stats | sed -n 's/.*"resourceVersion": *"\([0-9]*\)".*/\1/p'
}

# ready_count NAME: how many times kipvs NAME logged msg=ready.
ready_count() {
    grep -c 'component=daemon msg=ready' "/tmp/kipvs-$1.log" || true
}

# ready_since N: kipvs k logged msg=ready more than N times.
ready_since() {
    [ "$(ready_count k)" -gt "$1" ]
}

step "pods of S1 and a client; fake API server (plain HTTP, fixed ports) with S1, S6, S8"
netns_pod s1-a 10.244.2.5/24 10.244.2.1
netns_pod s1-b 10.244.3.4/24 10.244.3.1
netns_pod client 10.0.0.2/24 10.0.0.1
serve_http s1-a 80 s1-a
serve_http s1-b 80 s1-b
loads=()
for s in s01-clusterip-basic s06-terminating s08-affinity; do
    loads+=(--load "$SRC/test/fixtures/scenarios/$s.json")
done
fake_start "$work/fake" --plain-http --port 16080 --control-port 16081 "${loads[@]}"
kubeconfig=$FAKE_DIR/kubeconfig-token.yaml

step "kipvs run; converged"
kipvs_start k "" --kubeconfig "$kubeconfig" "${args[@]}"
wait_until "first convergence" 60 converged
echo "BENCH converged after ${WAITED_MS} ms"

step "client loop through 10.0.162.149 and table watcher start"
rm -f "$work/stop"
ip netns exec client bash -c '
ok=0; bad=0
while [ ! -e "$0/stop" ]; do
    if curl -s -o /dev/null --fail --max-time 3 http://10.0.162.149/; then ok=$((ok + 1))
    else bad=$((bad + 1)); echo "failed at $(cut -d" " -f1 /proc/uptime)" >>"$0/failures"; fi
    sleep 0.05
done
echo "$ok $bad" >"$0/client.result"' "$work" &
client_pid=$!
(
    min=999999
    while [ ! -e "$work/stop" ]; do
        n=$(ipvsadm -Sn | grep -c '^-A' || true)
        if [ "$n" -lt "$min" ]; then
            min=$n
            echo "$min" >"$work/table.min"
        fi
        sleep 0.2
    done
) &
watch_pid=$!
wait_until "client answered" 20 test -n "$(ip netns exec client curl -s --max-time 2 http://10.0.162.149/)"

step "faults mid-stream: cut and dropped events, garbage, 5xx on relists, closed watches"
ctl POST /control/faults '[
 {"fault":"drop_mid_event","resource":"endpointslices","verb":"watch","count":1},
 {"fault":"truncated_line","resource":"services","verb":"watch","count":1},
 {"fault":"garbage_line","resource":"endpointslices","verb":"watch","count":1,"after_events":1},
 {"fault":"status","resource":"services","verb":"*","count":2,"code":503,"retry_after":1},
 {"fault":"status","resource":"endpointslices","verb":"*","count":2,"code":500},
 {"fault":"close_after_n_events","resource":"nodes","verb":"watch","count":2,"n":0}]' >/dev/null
ctl POST /control/watches/close '{}' >/dev/null
sleep 1
# S6's terminating pod goes away; S8 gets a fourth endpoint; a new Service appears.
ctl DELETE /control/objects/EndpointSlice/default/nginx-service-6tjbr >/dev/null
ctl POST /control/objects '{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1",
 "metadata":{"namespace":"default","name":"nginx-service-6tjbr","labels":{"kubernetes.io/service-name":"nginx-service"}},
 "addressType":"IPv4","ports":[{"name":"","port":80,"protocol":"TCP"}],
 "endpoints":[{"addresses":["10.12.1.202"],"conditions":{"ready":true}}]}' >/dev/null
ctl POST /control/objects '{"kind":"Service","apiVersion":"v1","metadata":{"namespace":"default","name":"extra"},
 "spec":{"clusterIP":"10.96.7.7","clusterIPs":["10.96.7.7"],"ports":[{"port":53,"protocol":"UDP"}]}}' >/dev/null
ctl POST /control/watches/close '{}' >/dev/null
wait_until "convergence after the faults" 60 converged
echo "BENCH converged ${WAITED_MS} ms after the last fault; faults applied: $(ctl GET /control/stats | sed -n 's/.*"faults_applied": *\([0-9]*\).*/\1/p')"
kipvs_alive k

step "API server restart: stopped, state changed while down, back with a compacted history"
ctl GET /control/state >"$work/before-restart.json"
old_rv=$(rv_now)
# etcd never hands out a resourceVersion twice; the fake restarts at 101. Headless padding
# Services first, so that every real object gets a resourceVersion above the old ones (a
# watch resumed from an old one then sees them all), then compaction (so a resumed watch
# is told 410 and relists).
"$PY" - "$work/before-restart.json" "$work/restart-load.json" "$old_rv" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
items = d["objects"]
for o in items:
    if o["kind"] == "EndpointSlice" and o["metadata"]["name"] == "kubia-x8k2d":
        o["endpoints"].append({"addresses": ["10.108.3.7"], "conditions": {"ready": True}})
pad = [{"kind": "Service", "apiVersion": "v1",
        "metadata": {"namespace": "zz-pad", "name": "pad-%d" % i},
        "spec": {"clusterIP": "None", "ports": [{"port": 1, "protocol": "TCP"}]}}
       for i in range(int(sys.argv[3]) - 100 + 1)]
json.dump({"kind": "List", "apiVersion": "v1", "items": pad + items}, open(sys.argv[2], "w"))
EOF
fake_stop
sleep 3
kipvs_alive k
[ "$(cat "$work/table.min")" -gt 0 ] || fail "the table was emptied while the API server was down"
fake_start "$work/fake" --plain-http --port 16080 --control-port 16081 --load "$work/restart-load.json"
ctl POST /control/compact >/dev/null
echo "resourceVersion before the restart $old_rv, after $(rv_now) (compacted)"
wait_until "convergence after the API server restart" 90 converged
echo "BENCH converged ${WAITED_MS} ms after the restart"
table | grep -q -- '-r 10.108.3.7:8080' || fail "the change made while the server was down is missing"
want=$(state_plan)

for sig in TERM KILL; do
    step "kipvs restart after SIG$sig while the client keeps requesting"
    kipvs_stop k "$sig"
    expect_eq "table after SIG$sig" "$(table)" "$(sort <<<"$want")"
    sleep 1
    before=$(ready_count k)
    kipvs_start k "" --kubeconfig "$kubeconfig" "${args[@]}"
    wait_until "restarted kipvs ready" 60 ready_since "$before"
    first=$(awk '/^--- kipvs run/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' \
        "/tmp/kipvs-k.log" | grep -m1 '^level=info component=daemon msg="sync:' || true)
    echo "first sync of the restarted kipvs: $first"
    [[ "$first" == *"msg=\"$zero"* ]] || fail "the restarted kipvs changed the kernel: $first"
    expect_eq "netlink operations of the restarted kipvs" "$(ops "$M")" ""
    table_is "$want" || fail "table changed by the restart"
    curl -sf "$H/healthz" >/dev/null || fail "/healthz after the restart"
done

step "stop the client: zero failed requests"
touch "$work/stop"
wait "$client_pid" "$watch_pid"
read -r ok bad <"$work/client.result"
echo "client: $ok requests answered, $bad failed; smallest table seen: $(cat "$work/table.min") services"
[ "$bad" = 0 ] || { cat "$work/failures"; fail "$bad requests failed"; }
[ "$ok" -ge 20 ] || fail "only $ok requests made"
[ "$(cat "$work/table.min")" -gt 0 ] || fail "the table was empty at some point"
kipvs_stop k TERM
fake_stop
echo "ok daemon_restart"

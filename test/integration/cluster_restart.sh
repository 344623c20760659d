#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest (test cluster, test/cluster/cluster.sh): restarting one node's kipvs
# in the middle of traffic loses no request. A pod on node-b sends back-to-back HTTP requests
# (a new TCP connection each) and UDP queries (one datagram each) through a ClusterIP to pods on
# node-a and node-c while kipvs on node-b is stopped with SIGTERM and started again; every
# request must be answered. After the restart node-b's IPVS table is the same as before and
# `nft -a list ruleset` (rules with their handles) is unchanged: the restarted kipvs adopts what
# is there instead of rebuilding it. Other nodes are not disturbed.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

step "cluster up; pods web-a (node-a), web-c (node-c), cli-b (node-b)"
cluster_up
pod_add node-a web-a
pod_add node-c web-c
pod_add node-b cli-b
pods_wait
svc_create web 10.96.0.30 --tcp 80 --udp 53
slice_set_endpoints web web-a web-c
for p in web-a web-c; do
    nodes_wait_line "-a -t 10.96.0.30:80 -r $(pod_ip $p):8080 -m -w 1" 60
    nodes_wait_line "-a -u 10.96.0.30:53 -r $(pod_ip $p):5353 -m -w 1"
done
http_from cli-b http://10.96.0.30/ >/dev/null
udp_query cli-b 10.96.0.30 53 >/dev/null || fail "no UDP answer before the restart"

# traffic OUT STOPFILE: in cli-b, until STOPFILE exists, one HTTP request over a new connection
# and one UDP query at a time (bash's /dev/tcp and /dev/udp: no exec per request); one line per
# request: "tcp ok", "udp ok" or "tcp FAIL ..."/"udp FAIL". A request that gets no answer
# within 3 s counts as lost.
traffic() {
    ip netns exec cli-b bash -c '
        out=$0 stop=$1
        while [ ! -e "$stop" ]; do
            if exec 3<>/dev/tcp/10.96.0.30/80; then
                printf "GET / HTTP/1.0\r\n\r\n" >&3
                if read -r -t 3 status <&3 && [[ $status == "HTTP/1.1 200"* ]]; then
                    echo "tcp ok" >>"$out"
                else
                    echo "tcp FAIL reply=${status:-none}" >>"$out"
                fi
                exec 3<&-
            else
                echo "tcp FAIL connect" >>"$out"
            fi
            if exec 4<>/dev/udp/10.96.0.30/53 && printf q >&4 && read -r -t 3 -N 1 c <&4; then
                echo "udp ok" >>"$out"
            else
                echo "udp FAIL" >>"$out"
            fi
            exec 4<&-
            sleep 0.05
        done' "$1" "$2" 2>>"$1.err"
}

step "baseline: node-b's table and nft ruleset"
before_table=$(node_table node-b)
before_nft=$(ip netns exec node-b nft -a list ruleset) || fail "nft list ruleset on node-b"
other_before=$(node_table node-a)
traffic_out=$CLUSTER_DIR/traffic.out
traffic_stop=$CLUSTER_DIR/traffic.stop
rm -f "$traffic_out" "$traffic_stop"
traffic "$traffic_out" "$traffic_stop" &
traffic_pid=$!
wait_for "traffic flowing" 20 grep -q "udp ok" "$traffic_out"

step "restart kipvs on node-b under traffic"
node_kipvs_stop node-b
sleep 1 # requests while no kipvs runs on node-b at all
node_kipvs_start node-b
wait_for "node-b's kipvs ready again (healthz)" 60 from_ns node-b curl -f http://127.0.0.1:10256/healthz
echo "node-b ready ${WAITED_MS} ms after the restart"
sleep 1
touch "$traffic_stop"
wait "$traffic_pid" || fail "the traffic loop failed"
n_tcp=$(grep -c '^tcp ok' "$traffic_out" || true)
n_udp=$(grep -c '^udp ok' "$traffic_out" || true)
echo "answered: $n_tcp TCP requests, $n_udp UDP queries"
if grep -q FAIL "$traffic_out"; then
    grep FAIL "$traffic_out" | sort | uniq -c
    cat "$traffic_out.err" 2>/dev/null || true
    fail "requests lost during the restart"
fi
[ "$n_tcp" -ge 5 ] && [ "$n_udp" -ge 5 ] || fail "too little traffic to mean anything: $n_tcp TCP, $n_udp UDP"
node_kipvs_alive node-b

step "after the restart: the same table, the same ruleset (handles included), node-a untouched"
after_table=$(node_table node-b)
if [ "$after_table" != "$before_table" ]; then
    diff <(echo "$before_table") <(echo "$after_table") || true
    fail "node-b's IPVS table changed across the restart"
fi
after_nft=$(ip netns exec node-b nft -a list ruleset) || fail "nft list ruleset on node-b"
if [ "$after_nft" != "$before_nft" ]; then
    diff <(echo "$before_nft") <(echo "$after_nft") || true
    fail "node-b's nftables ruleset was rebuilt by the restart"
fi
expect_eq "node-a's table" "$(node_table node-a)" "$other_before"
out=$(http_from cli-b http://10.96.0.30/)
expect_eq "client address after the restart" "$(echo_client "$out")" "$(pod_ip cli-b)"
echo "PASS: kipvs restart on node-b under traffic: $n_tcp TCP + $n_udp UDP answered, none lost, table and ruleset kept"

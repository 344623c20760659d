#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest (test cluster, test/cluster/cluster.sh): the packet path's source NAT
# with real traffic (issue 7's tests; requirements.md S4, S12, S16, S3):
#  - S4 eTP=Cluster: the external client (198.51.100.79) reaches the NodePort on EVERY node; the
#    pod (on node-a) sees the receiving node's address (masqueraded);
#  - S12: node-c -> node-b's NodePort (cross-node, SNAT) works; each node -> its own NodePort;
#  - node-b -> a ClusterIP whose only pod is on node-a (the node's own traffic is masqueraded);
#  - S16 hairpin: web-a reaches itself through its own ClusterIP;
#  - two pods on one node through their Service keep the client pod's address (S3);
#  - S4 eTP=Local: only node-a answers, with the real client address; node-b and node-c drop
#    silently (a timeout, not a refusal).
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

step "cluster up; web-a and cli-a on node-a"
cluster_up
pod_add node-a web-a
pod_add node-a cli-a
pods_wait
svc_create np 10.96.0.50 --tcp 80 --node-port 30050
slice_set_endpoints np web-a
nodes_wait_line "-a -t 10.96.0.50:80 -r $(pod_ip web-a):8080 -m -w 1" 60
for n in $CLUSTER_NODES; do
    wait_for "$n: NodePort 30050" 30 node_has_line "$n" "-a -t $(node_ip "$n"):30050 -r $(pod_ip web-a):8080 -m -w 1"
done

step "S4 eTP=Cluster: external client -> every node's NodePort; the pod sees the node's address"
for n in $CLUSTER_NODES; do
    out=$(http_from client "http://$(node_ip "$n"):30050/")
    echo "$n: $out"
    expect_eq "pod via $n" "$(echo_pod "$out")" web-a
    if [ "$n" = node-a ]; then
        # the pod's own node: SNAT to an address of node-a (its address towards the pod)
        c=$(echo_client "$out")
        [ "$c" != "$CLUSTER_CLIENT_IP" ] || fail "via node-a: the client address was not masqueraded"
    else
        expect_eq "client seen via $n (masqueraded)" "$(echo_client "$out")" "$(node_ip "$n")"
    fi
done

step "S12: node-c -> node-b's NodePort; every node -> its own NodePort"
out=$(http_from node-c "http://$(node_ip node-b):30050/")
expect_eq "node-c -> node-b:30050" "$(echo_pod "$out")" web-a
for n in $CLUSTER_NODES; do
    out=$(http_from "$n" "http://$(node_ip "$n"):30050/")
    expect_eq "$n -> its own NodePort" "$(echo_pod "$out")" web-a
done

step "node-b -> ClusterIP whose only pod is on node-a"
out=$(http_from node-b http://10.96.0.50/)
expect_eq "node-b -> ClusterIP" "$(echo_pod "$out")" web-a

step "S16 hairpin: web-a -> its own ClusterIP"
out=$(http_from web-a http://10.96.0.50/)
expect_eq "hairpin" "$(echo_pod "$out")" web-a

step "S3: cli-a -> ClusterIP -> web-a on the same node keeps cli-a's address"
out=$(http_from cli-a http://10.96.0.50/)
expect_eq "same-node client address" "$(echo_client "$out")" "$(pod_ip cli-a)"

step "S4 eTP=Local: only node-a answers, with the real client address; the others drop silently"
svc_create np 10.96.0.50 --tcp 80 --node-port 30050 --etp Local --hc-port 30051
for n in node-b node-c; do
    wait_for "$n drops its NodePort real server" 30 node_lacks_line "$n" \
        "-a -t $(node_ip "$n"):30050 -r $(pod_ip web-a):8080 -m -w 1"
done
# real_client_via_a: node-a answers with the real client address (the nftables sets are
# changed in the same sync as the table; poll rather than guess when node-a got there).
real_client_via_a() {
    local out
    out=$(http_try client "http://$(node_ip node-a):30050/") || return 1
    [ "$(echo_client "$out")" = "$CLUSTER_CLIENT_IP" ]
}
wait_for "eTP=Local via node-a: the pod sees the real client 198.51.100.79" 30 real_client_via_a
echo "node-a: $(http_from client "http://$(node_ip node-a):30050/")"
sleep 1
for n in node-b node-c; do
    t=$(cluster_now_ms)
    if out=$(from_ns client curl --connect-timeout 1 "http://$(node_ip "$n"):30050/" 2>&1); then
        fail "eTP=Local via $n answered: $out"
    fi
    took=$(($(cluster_now_ms) - t))
    echo "$n: $out (${took} ms)"
    [ "$took" -ge 900 ] || fail "eTP=Local via $n: refused after ${took} ms, want a silent drop (timeout)"
done
echo "PASS: NodePort SNAT on every node, cross-node, node-local, hairpin, eTP=Local"

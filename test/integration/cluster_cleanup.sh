#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest (test cluster, test/cluster/cluster.sh): `kipvs cleanup` on a node
# leaves `nft list ruleset`, `ipvsadm -Sn` and the node's links and addresses exactly as they
# were before kipvs ran. node-a starts with someone else's state: a virtual server made by hand
# and an nftables table of its own. kipvs then runs there, programs a NodePort Service (traffic
# flows), is stopped, and `kipvs cleanup` must remove all it made and nothing else. node-b, with
# kipvs still running, keeps its table.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

step "cluster up without kipvs; pods web-a (node-a) and cli-b (node-b)"
CLUSTER_NO_KIPVS=1 cluster_up
pod_add node-a web-a
pod_add node-b cli-b

step "node-a before kipvs: a foreign virtual server and a foreign nftables table"
ip netns exec node-a ipvsadm -A -t 192.168.49.3:9999 -s wrr || fail "foreign VS"
ip netns exec node-a ipvsadm -a -t 192.168.49.3:9999 -r 10.244.1.200:9999 -m -w 3 || fail "foreign RS"
ip netns exec node-a nft -f - <<'EOF' || fail "foreign nftables table"
table inet other {
    set blocked { type ipv4_addr; elements = { 203.0.113.9 } }
    chain input { type filter hook input priority 10; policy accept; ip saddr @blocked drop; }
}
EOF
snapshot() {
    echo "== nft"
    ip netns exec node-a nft -a list ruleset
    echo "== ipvsadm"
    ip netns exec node-a ipvsadm -Sn | sort
    echo "== links"
    ip -n node-a -o link show | sed 's/^[0-9]*: //; s/ link\/.*//; s/,LOWER_UP//'
    echo "== addresses"
    ip -n node-a -o addr show | awk '{print $2, $3, $4}'
}
before=$(snapshot) || fail "snapshot of node-a"

step "kipvs on node-a and node-b; Service web (ClusterIP + NodePort 30090) -> web-a"
node_kipvs_start node-a
node_kipvs_start node-b
pods_wait
svc_create web 10.96.0.40 --tcp 80 --node-port 30090 --udp 53
slice_set_endpoints web web-a
for n in node-a node-b; do
    wait_for "$n: web programmed" 60 node_has_line "$n" "-a -t 10.96.0.40:80 -r $(pod_ip web-a):8080 -m -w 1"
done
out=$(http_from cli-b http://10.96.0.40/)
expect_eq "traffic through the ClusterIP" "$(echo_pod "$out")" web-a
node_has_line node-a "-a -t 192.168.49.3:9999 -r 10.244.1.200:9999 -m -w 3" ||
    fail "kipvs touched the foreign virtual server"
during=$(snapshot)
[ "$during" != "$before" ] || fail "kipvs changed nothing on node-a: the test would prove nothing"
b_table=$(node_table node-b)

step "stop kipvs on node-a, then kipvs cleanup there"
node_kipvs_stop node-a
ip netns exec node-a "$CLUSTER_KIPVS" cleanup >"$CLUSTER_DIR/cleanup.out" 2>&1 ||
    { cat "$CLUSTER_DIR/cleanup.out"; fail "kipvs cleanup failed"; }
cat "$CLUSTER_DIR/cleanup.out"
after=$(snapshot)
if [ "$after" != "$before" ]; then
    diff <(echo "$before") <(echo "$after") || true
    fail "node-a after kipvs cleanup differs from before kipvs ran"
fi

step "a second cleanup changes nothing; node-b keeps its table"
ip netns exec node-a "$CLUSTER_KIPVS" cleanup >"$CLUSTER_DIR/cleanup2.out" 2>&1 ||
    { cat "$CLUSTER_DIR/cleanup2.out"; fail "second kipvs cleanup failed"; }
expect_eq "node-a after a second cleanup" "$(snapshot)" "$before"
expect_eq "node-b's table" "$(node_table node-b)" "$b_table"
node_kipvs_alive node-b
echo "PASS: kipvs cleanup restored node-a's nft ruleset, IPVS table, links and addresses"

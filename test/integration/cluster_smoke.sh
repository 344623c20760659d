#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: proves the multi-node test cluster (test/cluster/cluster.sh). Three
# node namespaces, each with its own `kipvs run` against the fake API server; one Service with
# one pod on node-a. A pod on node-b and a pod on node-a reach it through the ClusterIP (TCP and
# UDP) and the echo server sees the client pod's own address (S3: no SNAT for pod -> ClusterIP,
# same node and across nodes); the external client reaches it through node-a's NodePort under
# externalTrafficPolicy Local and is seen with its real address (198.51.100.79, S4). Every node
# has its own IPVS table and its own kipvs (three processes in three namespaces, three tables);
# a virtual server added by hand on one node shows on no other. A second pod moves through
# ready -> terminating+serving -> gone and the tables follow.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

step "cluster up: bridge, node-a/b/c, router, client, fake API server, kipvs on every node"
cluster_up
pod_add node-a web-a
pod_add node-a cli-a
pod_add node-b cli-b
pod_add node-c web-c
step "pods added, waiting for their echo servers"
pods_wait
step "pods: web-a $(pod_ip web-a), cli-a $(pod_ip cli-a) on node-a; cli-b $(pod_ip cli-b) on node-b; web-c $(pod_ip web-c) on node-c"

step "routed veths: cli-b reaches web-a's echo server directly (pod network across nodes)"
out=$(http_from cli-b "http://$(pod_ip web-a):8080/")
expect_eq "pod -> pod across nodes" "$out" "pod=web-a client=$(pod_ip cli-b):${out##*:}"

step "Service web 10.96.0.20 (80/TCP, 53/UDP, NodePort 30080, eTP Local) -> web-a"
svc_create web 10.96.0.20 --tcp 80 --node-port 30080 --udp 53 --etp Local --hc-port 30256
slice_set_endpoints web web-a
tcp_rs="-a -t 10.96.0.20:80 -r $(pod_ip web-a):8080 -m -w 1"
udp_rs="-a -u 10.96.0.20:53 -r $(pod_ip web-a):5353 -m -w 1"
nodes_wait_line "$tcp_rs" 60
echo "programmed on every node ${WAITED_MS} ms after the last node"
nodes_wait_line "$udp_rs" 30
for n in $CLUSTER_NODES; do node_kipvs_alive "$n"; done

step "node-a's ipvsadm -Ln shows the virtual server"
ipvsadm_a=$(ip netns exec node-a ipvsadm -Ln)
echo "$ipvsadm_a"
expect_line "node-a ipvsadm -Ln" "$ipvsadm_a" "TCP  10.96.0.20:80 rr"
grep -qE "^  -> $(pod_ip web-a):8080 +Masq +1 " <<<"$ipvsadm_a" || fail "node-a ipvsadm -Ln: no Masq weight-1 line for web-a"

step "S3 across nodes: cli-b (node-b) -> ClusterIP -> web-a (node-a) sees cli-b's address"
out=$(http_from cli-b http://10.96.0.20/)
echo "$out"
expect_eq "pod answering" "$(echo_pod "$out")" web-a
expect_eq "client seen across nodes" "$(echo_client "$out")" "$(pod_ip cli-b)"

step "S3 same node: cli-a (node-a) -> ClusterIP -> web-a (node-a) sees cli-a's address"
out=$(http_from cli-a http://10.96.0.20/)
echo "$out"
expect_eq "client seen on the same node" "$(echo_client "$out")" "$(pod_ip cli-a)"

step "UDP: cli-b -> ClusterIP:53 -> web-a:5353, client address kept"
out=$(udp_query cli-b 10.96.0.20 53) || fail "no UDP answer from 10.96.0.20:53"
echo "$out"
expect_eq "UDP pod" "$(echo_pod "$out")" web-a
expect_eq "UDP client" "$(echo_client "$out")" "$(pod_ip cli-b)"

step "external client -> node-a:30080 (eTP Local, pod on node-a): real client address"
out=$(http_from client "http://$(node_ip node-a):30080/")
echo "$out"
expect_eq "client seen through the NodePort" "$(echo_client "$out")" "$CLUSTER_CLIENT_IP"

step "three nodes, three kipvs processes in three namespaces, three tables"
declare -A seen_ns=()
for n in $CLUSTER_NODES; do
    pid=${CLUSTER_KIPVS_PID[$n]}
    ns=$(readlink "/proc/$pid/ns/net") || fail "no kipvs process $pid on $n"
    [ "$ns" != "$(readlink /proc/self/ns/net)" ] || fail "kipvs on $n runs in the root namespace"
    [ -z "${seen_ns[$ns]:-}" ] || fail "kipvs on $n shares $ns with ${seen_ns[$ns]}"
    seen_ns[$ns]=$n
    addrs=$(ip -n "$n" addr show kube-ipvs0) || fail "$n: no kube-ipvs0"
    grep -q 'inet 10.96.0.20/32' <<<"$addrs" || fail "$n: 10.96.0.20 not on its kube-ipvs0: $addrs"
done
expect_eq "root namespace's own table" "$(ipvsadm -Sn)" ""
ip netns exec node-c ipvsadm -A -t 10.99.0.1:80 -s rr || fail "hand-made VS on node-c"
node_has_line node-c "-A -t 10.99.0.1:80 -s rr" || fail "node-c lacks its hand-made VS"
for n in node-a node-b; do
    node_lacks_line "$n" "-A -t 10.99.0.1:80 -s rr" || fail "$n sees node-c's hand-made VS"
done
ip netns exec node-c ipvsadm -D -t 10.99.0.1:80 || fail "remove the hand-made VS"

step "lifecycle: web-c joins, then web-a goes terminating+serving, then gone"
slice_set_endpoints web web-a web-c
rs_c="-a -t 10.96.0.20:80 -r $(pod_ip web-c):8080 -m -w 1"
nodes_wait_line "$rs_c"
pod_move web web-a terminating
nodes_wait_line "-a -t 10.96.0.20:80 -r $(pod_ip web-a):8080 -m -w 0"
for i in 1 2 3; do
    out=$(http_from cli-b http://10.96.0.20/)
    expect_eq "new connection with web-a terminating" "$(echo_pod "$out")" web-c
done
pod_move web web-a gone
# node-c never sent a connection to web-a: no draining there, the destination goes at once.
wait_for "node-c drops web-a" 30 node_lacks_line node-c "-a -t 10.96.0.20:80 -r $(pod_ip web-a):8080 -m -w 0"
wait_for "node-c drops web-a (UDP)" 30 node_lacks_line node-c "$udp_rs"
out=$(udp_query cli-b 10.96.0.20 53) || fail "no UDP answer after web-a left"
expect_eq "UDP after web-a left" "$(echo_pod "$out")" web-c

step "restart kipvs on node-b: the table stays and traffic keeps flowing"
before=$(node_table node-b | grep -v -- ' -w 0$')
node_kipvs_restart node-b
out=$(http_from cli-b http://10.96.0.20/)
expect_eq "during the restart" "$(echo_pod "$out")" web-c
wait_for "node-b's kipvs back (healthz)" 30 from_ns node-b curl -f http://127.0.0.1:10256/healthz
expect_eq "node-b table after restart" "$(node_table node-b | grep -v -- ' -w 0$')" "$before"
for n in $CLUSTER_NODES; do node_kipvs_alive "$n"; done
echo "PASS: cluster harness: 3 nodes, S3 same node and across nodes, UDP, eTP Local client address, separate tables"

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
#    silently (a timeout, not a refusal);
#  - S5 LB ingress IP (203.0.113.140, routed by the router to one node at a time with lb_route,
#    as a MetalLB-style announcement): under eTP=Cluster it answers through every node and the
#    pod sees a node address; under eTP=Local only through node-a, with the real client address,
#    and node-b and node-c drop it silently;
#  - the VIP filter on the LB IP: the healthCheckNodePort is accepted (GET LB:30051 through
#    node-a answers 200 with localEndpoints 1, through node-b 503 with 0), while a listener on
#    node-a's port 22 stays unreachable through the LB IP (it answers on node-a's own address).
# The Service is one LoadBalancer Service (it has the NodePort too) changed from eTP=Cluster
# to eTP=Local, so the cluster boots once.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

LB_IP=203.0.113.140 # requirements.md S5's ingress address

step "cluster up; web-a and cli-a on node-a; a listener on node-a's port 22"
cluster_up
pod_add node-a web-a
pod_add node-a cli-a
# A stand-in for sshd on node-a (any listener on port 22); pods_wait waits for it too and
# cluster_down stops it.
mkdir -p "$CLUSTER_DIR/pods"
ip netns exec node-a "$CLUSTER_PY" -S "$CLUSTER_SRC/test/cluster/echo.py" sshd-a \
    "$CLUSTER_DIR/pods/sshd-a.ready" tcp:22 >>"$CLUSTER_DIR/pods/sshd-a.log" 2>&1 &
CLUSTER_POD_ECHO[sshd-a]=$!
pods_wait
svc_create np 10.96.0.50 --tcp 80 --node-port 30050 --lb "$LB_IP"
slice_set_endpoints np web-a
nodes_wait_line "-a -t 10.96.0.50:80 -r $(pod_ip web-a):8080 -m -w 1" 120 # kipvs under ASan, loaded host
nodes_wait_line "-a -t $LB_IP:80 -r $(pod_ip web-a):8080 -m -w 1" 30
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

step "S5 eTP=Cluster: external client -> the LB IP through every node; the pod sees a node address"
for n in $CLUSTER_NODES; do
    lb_route "$LB_IP" "$n"
    out=$(http_from client "http://$LB_IP/")
    echo "LB via $n: $out"
    expect_eq "LB pod via $n" "$(echo_pod "$out")" web-a
    if [ "$n" = node-a ]; then
        c=$(echo_client "$out")
        [ "$c" != "$CLUSTER_CLIENT_IP" ] || fail "LB via node-a: the client address was not masqueraded"
    else
        expect_eq "LB client seen via $n (masqueraded)" "$(echo_client "$out")" "$(node_ip "$n")"
    fi
done

step "S12: node-c -> node-b's NodePort; every node -> its own NodePort"
expect_answer "node-c -> node-b:30050 (masqueraded to node-b)" node-c \
    "http://$(node_ip node-b):30050/" web-a "$(node_ip node-b)"
for n in $CLUSTER_NODES; do
    out=$(http_from "$n" "http://$(node_ip "$n"):30050/")
    expect_eq "$n -> its own NodePort" "$(echo_pod "$out")" web-a
done

step "node-b -> ClusterIP whose only pod is on node-a"
expect_answer "node-b -> ClusterIP (masqueraded to node-b)" node-b http://10.96.0.50/ web-a \
    "$(node_ip node-b)"

step "S16 hairpin: web-a -> its own ClusterIP"
out=$(http_from web-a http://10.96.0.50/)
expect_eq "hairpin" "$(echo_pod "$out")" web-a
c=$(echo_client "$out")
[ -n "$c" ] && [ "$c" != "$(pod_ip web-a)" ] || fail "hairpin: the pod saw '$c', want a masqueraded source"

step "S3: cli-a -> ClusterIP -> web-a on the same node keeps cli-a's address"
out=$(http_from cli-a http://10.96.0.50/)
expect_eq "same-node client address" "$(echo_client "$out")" "$(pod_ip cli-a)"

step "S4/S5 eTP=Local: only node-a answers, with the real client address; the others drop silently"
svc_create np 10.96.0.50 --tcp 80 --node-port 30050 --lb "$LB_IP" --etp Local --hc-port 30051
for n in node-b node-c; do
    wait_for "$n drops its NodePort real server" 30 node_lacks_line "$n" \
        "-a -t $(node_ip "$n"):30050 -r $(pod_ip web-a):8080 -m -w 1"
    wait_for "$n drops its LB real server" 30 node_lacks_line "$n" \
        "-a -t $LB_IP:80 -r $(pod_ip web-a):8080 -m -w 1"
done
lb_route "$LB_IP" node-a
wait_for "eTP=Local NodePort via node-a: the pod sees the real client 198.51.100.79" 30 \
    sees_client "http://$(node_ip node-a):30050/" "$CLUSTER_CLIENT_IP"
echo "node-a: $(http_from client "http://$(node_ip node-a):30050/")"
wait_for "eTP=Local LB via node-a: the pod sees the real client 198.51.100.79" 30 \
    sees_client "http://$LB_IP/" "$CLUSTER_CLIENT_IP"
out=$(http_from client "http://$LB_IP/")
echo "LB via node-a: $out"
expect_eq "LB pod via node-a (eTP=Local)" "$(echo_pod "$out")" web-a
sleep 1
for n in node-b node-c; do
    silent_drop "eTP=Local NodePort via $n" "http://$(node_ip "$n"):30050/"
    lb_route "$LB_IP" "$n"
    silent_drop "eTP=Local LB via $n" "http://$LB_IP/"
done

step "VIP filter on the LB IP: the health-check node port is accepted, port 22 is not"
lb_route "$LB_IP" node-b
wait_for "LB:30051 via node-b: 503, localEndpoints 0" 30 hc_is "http://$LB_IP:30051/" 503 0
echo "LB:30051 via node-b: $(from_ns client curl -w ' %{http_code}' "http://$LB_IP:30051/" || true)"
lb_route "$LB_IP" node-a
wait_for "LB:30051 via node-a: 200, localEndpoints 1" 30 hc_is "http://$LB_IP:30051/" 200 1
echo "LB:30051 via node-a: $(from_ns client curl -w ' %{http_code}' "http://$LB_IP:30051/" || true)"
out=$(http_from client "http://$(node_ip node-a):22/")
expect_eq "node-a:22 (the listener is there)" "$(echo_pod "$out")" sshd-a
rc=0
out=$(from_ns client curl "http://$LB_IP:22/" 2>&1) || rc=$?
echo "LB:22 via node-a: exit=$rc $out"
expect_eq "LB:22 via node-a (curl exit status: refused)" "$rc" 7
echo "PASS: NodePort and LB SNAT on every node, cross-node, node-local, hairpin, eTP=Local," \
    "health-check node port through the VIP filter"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest (test cluster, test/cluster/cluster.sh), requirements.md S18: UDP
# clients must not stick to dead backends. A resolver-like client on node-b keeps ONE socket
# (one source port) and queries a UDP ClusterIP every 0.2 s:
#  1. its server pod is replaced (a new pod on node-c becomes the endpoint, the old one on
#     node-a is removed from the slice and deleted): the same socket is answered by the new pod
#     within a few seconds and from then on without a gap;
#  2. a UDP Service that had no endpoint (the client's queries fail meanwhile) starts answering
#     the same socket as soon as it gets one.
# The time from the slice change to the first answer is printed (BENCH lines).
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

step "cluster up; dns-a (node-a), dns-c (node-c), cli-b (node-b)"
cluster_up
pod_add node-a dns-a
pod_add node-c dns-c
pod_add node-b cli-b
pods_wait
svc_create dns 10.96.0.10 --udp 53
slice_set_endpoints dns dns-a
svc_create empty 10.96.0.11 --udp 53
wait_for "node-b: dns -> dns-a" 60 node_has_line node-b "-a -u 10.96.0.10:53 -r $(pod_ip dns-a):5353 -m -w 1"
wait_for "node-b: empty's virtual server" 30 node_has_line node-b "-A -u 10.96.0.11:53 -s rr"

step "resolver-like clients on cli-b: one socket each"
udp_client_start dns cli-b 10.96.0.10 53
udp_client_start empty cli-b 10.96.0.11 53
wait_for "dns client answered by dns-a" 30 udp_client_answered dns 0 dns-a
wait_for "empty client: three failed queries" 30 \
    bash -c "[ \$(grep -cE ' (timeout|refused)$' '$CLUSTER_DIR/udp-empty.out') -ge 3 ]"
grep -q ' ok ' "$CLUSTER_DIR/udp-empty.out" && fail "a Service without endpoints answered"

step "1. replace dns-a (node-a) by dns-c (node-c)"
mark=$(udp_client_lines dns)
t=$(cluster_now_ms)
slice_set_endpoints dns dns-c
pod_del dns-a
wait_for "dns client answered by dns-c on the same socket" 30 udp_client_answered dns "$mark" dns-c
echo "BENCH UDP backend replaced -> first answer from the new pod: $(($(cluster_now_ms) - t)) ms"
first=$(awk -v m="$mark" 'NR > m && / ok pod=dns-c / && !f { print NR - m; f = 1 }' "$CLUSTER_DIR/udp-dns.out")
sleep 2
after=$(tail -n +"$((mark + first))" "$CLUSTER_DIR/udp-dns.out")
head -n 3 <<<"$after"
if grep -v ' ok pod=dns-c ' <<<"$after"; then
    fail "after the first answer from dns-c, the client still saw other answers or failures"
fi
[ "$(wc -l <<<"$after")" -ge 3 ] || fail "too few queries after the switch: $after"

step "2. the Service without endpoints gets dns-c"
mark=$(udp_client_lines empty)
t=$(cluster_now_ms)
slice_set_endpoints empty dns-c
wait_for "node-b: empty -> dns-c" 30 node_has_line node-b "-a -u 10.96.0.11:53 -r $(pod_ip dns-c):5353 -m -w 1"
t_rs=$(cluster_now_ms)
wait_for "empty client answered on the same socket" 10 udp_client_answered empty "$mark" dns-c
echo "BENCH UDP first endpoint -> first answer: $(($(cluster_now_ms) - t)) ms ($(($(cluster_now_ms) - t_rs)) ms after the real server was in node-b's table)"
udp_client_stop dns
udp_client_stop empty
echo "--- the clients' source ports: $(head -n1 "$CLUSTER_DIR/udp-dns.out"), $(head -n1 "$CLUSTER_DIR/udp-empty.out")"
echo "PASS: UDP clients moved to the new backend and to the first backend on the same socket"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest (test cluster, test/cluster/cluster.sh, dual-stack: CLUSTER_IPV6=1):
# the NodePort rules take only the node's NodePort addresses (issue 11, item 1), IPv4 and IPv6
# alike.
#  - Service np (NodePort 30080, its only pod web-a on node-a) and Service vip, whose Service
#    port is 30080 too, on its ClusterIP, an externalIP and an LB address (eTP=Local, its only
#    pod web-b on node-b). A pod on node-c reaches the ClusterIP with its own address, and the
#    external client reaches the externalIP and the LB address through node-b with its own
#    address, while np is eTP=Local (which drops on a node without a local endpoint) and while
#    it is eTP=Cluster (which masquerades). np's own NodePort keeps its treatment: eTP=Local
#    answers through node-a with the real client and drops silently through node-b, eTP=Cluster
#    answers through node-b masqueraded.
# The cases that failed before item 1 run through `soft`, so one run names all of them.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

VIP4=10.96.0.80 VIP6=fd00:96::80
EIP4=203.0.113.80 EIP6=2001:db8:300::80
LB4=203.0.113.81 LB6=2001:db8:200::81
NP=30080

# url ADDR PORT: http://ADDR:PORT/, an IPv6 ADDR in brackets.
url() {
    if [[ $1 == *:* ]]; then echo "http://[$1]:$2/"; else echo "http://$1:$2/"; fi
}

# soft DESC CMD...: CMD (a helper that ends the job when it fails) in a subshell; a failure is
# remembered and the test goes on, and fails at the end.
MISSED=()
soft() {
    local desc=$1
    shift
    ("$@") || MISSED+=("$desc")
}

# fam_addrs FAMILY: sets c e l (vip's ClusterIP, externalIP, LB address), node_b, cli_c
# (cli-c's address) and ext (the external client) of FAMILY (4 or 6).
fam_addrs() {
    if [ "$1" = 4 ]; then
        c=$VIP4 e=$EIP4 l=$LB4 node_b=$(node_ip node-b) cli_c=$(pod_ip cli-c)
        ext=$CLUSTER_CLIENT_IP
    else
        c=$VIP6 e=$EIP6 l=$LB6 node_b=$(node_ip6 node-b) cli_c=$(pod_ip6 cli-c)
        ext=$CLUSTER_CLIENT_IP6
    fi
}

# vip_checks POLICY: vip's three addresses on port 30080, both families, each answered by
# web-b with the client's own address whatever np's policy (POLICY, for the messages).
vip_checks() {
    local fam c e l node_b cli_c ext
    for fam in 4 6; do
        fam_addrs "$fam"
        soft "np $1, IPv$fam: cli-c -> ClusterIP $c:$NP" expect_answer \
            "np $1: cli-c -> ClusterIP $c:$NP" cli-c "$(url "$c" $NP)" web-b "$cli_c"
        lb_route "$e" node-b
        lb_route "$l" node-b
        soft "np $1, IPv$fam: client -> externalIP $e:$NP via node-b" expect_answer \
            "np $1: client -> externalIP $e:$NP via node-b" client "$(url "$e" $NP)" web-b "$ext"
        soft "np $1, IPv$fam: client -> LB $l:$NP via node-b" expect_answer \
            "np $1: client -> LB $l:$NP via node-b" client "$(url "$l" $NP)" web-b "$ext"
    done
}

step "dual-stack cluster up; web-a on node-a, web-b on node-b, cli-c on node-c"
CLUSTER_IPV6=1
cluster_up
pod_add node-a web-a
pod_add node-b web-b
pod_add node-c cli-c
pods_wait
svc_create np 10.96.0.81,fd00:96::81 --tcp 80 --node-port $NP --etp Local
slice_set_endpoints np web-a
svc_create vip "$VIP4,$VIP6" --tcp $NP --external-ip "$EIP4" --external-ip "$EIP6" \
    --lb "$LB4" --lb "$LB6" --etp Local
slice_set_endpoints vip web-b
nodes_wait_line "-a -t $VIP4:$NP -r $(pod_ip web-b):8080 -m -w 1" 120 # kipvs under ASan, loaded host
nodes_wait_line "-a -t [$VIP6]:$NP -r [$(pod_ip6 web-b)]:8080 -m -w 1" 30
for a in "$LB4:$NP -r $(pod_ip web-b)" "[$LB6]:$NP -r [$(pod_ip6 web-b)]" \
    "$EIP4:$NP -r $(pod_ip web-b)" "[$EIP6]:$NP -r [$(pod_ip6 web-b)]"; do
    wait_for "node-b: $a" 30 node_has_line node-b "-a -t $a:8080 -m -w 1"
done
wait_for "node-a: eTP=Local NodePort" 30 node_has_line node-a \
    "-a -t [$(node_ip6 node-a)]:$NP -r [$(pod_ip6 web-a)]:8080 -m -w 1"

step "np eTP=Local: vip's ClusterIP, externalIP and LB address on port $NP are not np's NodePort"
vip_checks eTP=Local

step "np eTP=Local: its NodePort answers through node-a with the real client, node-b drops it"
for fam in 4 6; do
    if [ $fam = 4 ]; then a=$(node_ip node-a) b=$(node_ip node-b) ext=$CLUSTER_CLIENT_IP
    else a=$(node_ip6 node-a) b=$(node_ip6 node-b) ext=$CLUSTER_CLIENT_IP6; fi
    expect_answer "eTP=Local NodePort via node-a" client "$(url "$a" $NP)" web-a "$ext"
    silent_drop "eTP=Local NodePort via node-b (no local endpoint)" "$(url "$b" $NP)"
done

step "np eTP=Cluster: vip's addresses keep the client's address (not masqueraded as np's)"
svc_create np 10.96.0.81,fd00:96::81 --tcp 80 --node-port $NP
wait_for "node-b: eTP=Cluster NodePort" 30 node_has_line node-b \
    "-a -t [$(node_ip6 node-b)]:$NP -r [$(pod_ip6 web-a)]:8080 -m -w 1"
wait_for "node-b: eTP=Cluster NodePort (IPv4)" 30 node_has_line node-b \
    "-a -t $(node_ip node-b):$NP -r $(pod_ip web-a):8080 -m -w 1"
vip_checks eTP=Cluster
for fam in 4 6; do
    fam_addrs "$fam"
    expect_answer "eTP=Cluster NodePort via node-b (masqueraded)" client "$(url "$node_b" $NP)" \
        web-a "$node_b"
done

if [ ${#MISSED[@]} -gt 0 ]; then
    printf 'FAIL: %s\n' "${MISSED[@]}" >&2
    fail "${#MISSED[@]} case(s) failed (above)"
fi
echo "PASS: vip's ClusterIP, externalIP and LB address on another Service's nodePort answered" \
    "with the client's address under eTP=Local and eTP=Cluster, IPv4 and IPv6; the NodePort's" \
    "own treatment kept"

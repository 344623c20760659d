#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest (test cluster, test/cluster/cluster.sh, dual-stack: CLUSTER_IPV6=1):
# the NodePort rules take only the node's NodePort addresses, and loadBalancerSourceRanges
# filter the node's own traffic (issue 11, items 1 and 6), IPv4 and IPv6 alike.
#  - Service np (NodePort 30080, its only pod web-a on node-a) and Service vip, whose Service
#    port is 30080 too, on its ClusterIP, an externalIP and an LB address (eTP=Local, its only
#    pod web-b on node-b). A pod on node-c reaches the ClusterIP with its own address, and the
#    external client reaches the externalIP and the LB address through node-b with its own
#    address, while np is eTP=Local (which drops on a node without a local endpoint) and while
#    it is eTP=Cluster (which masquerades). np's own NodePort keeps its treatment: eTP=Local
#    answers through node-a with the real client and drops silently through node-b, eTP=Cluster
#    answers through node-b masqueraded.
#  - Service lbr (LB addresses, eTP=Cluster, its pod on node-a) with source ranges: node-b
#    itself reaches its LB address while a range holds node-b's address, and is dropped when
#    none does (the client is then let through); with ranges of IPv6 only, the IPv4 address
#    refuses everyone (node-b and the client) and the IPv6 address still lets node-b in, and each
#    node logs that once for the change.
# The cases that failed before items 1 and 6 run through `soft`, so one run names all of them.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

VIP4=10.96.0.80 VIP6=fd00:96::80
EIP4=203.0.113.80 EIP6=2001:db8:300::80
LB4=203.0.113.81 LB6=2001:db8:200::81
LBR4=203.0.113.90 LBR6=2001:db8:200::90
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

# nft_set_has NODE SET TEXT: the set SET of NODE's kipvs table lists TEXT (for wait_for).
nft_set_has() {
    local t
    t=$(ip netns exec "$1" nft list set inet kipvs "$2") || return 2
    grep -qF -- "$3" <<<"$t"
}

# refused_lines NODE: how many lines of NODE's kipvs log say lbr's IPv4 LB addresses refuse
# every source.
refused_lines() {
    grep -c 'msg=refused kind=Service svc=default/lbr detail=".*no IPv4 range' \
        "$CLUSTER_DIR/kipvs-$1.log" || true
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

step "lbr: node-b itself reaches its LB address while a source range holds node-b's address"
svc_create lbr 10.96.0.90,fd00:96::90 --tcp 80 --lb "$LBR4" --lb "$LBR6" \
    --source-range 192.168.49.0/24 --source-range fd00:49::/64
slice_set_endpoints lbr web-a
nodes_wait_line "-a -t $LBR4:80 -r $(pod_ip web-a):8080 -m -w 1" 30
nodes_wait_line "-a -t [$LBR6]:80 -r [$(pod_ip6 web-a)]:8080 -m -w 1" 30
lb_route "$LBR4" node-b
lb_route "$LBR6" node-b
for fam in 4 6; do
    fam_addrs "$fam"
    lbr=$LBR4
    [ $fam = 4 ] || lbr=$LBR6
    expect_answer "node-b -> LB $lbr (its address in the ranges)" node-b "$(url "$lbr" 80)" web-a \
        "$node_b"
    silent_drop "client -> LB $lbr via node-b (outside the ranges)" "$(url "$lbr" 80)"
done

step "lbr: ranges without a node address drop node-b's own traffic; the client is let in"
svc_create lbr 10.96.0.90,fd00:96::90 --tcp 80 --lb "$LBR4" --lb "$LBR6" \
    --source-range 198.51.100.0/24 --source-range 2001:db8:100::/64
wait_for "the client reaches LB $LBR4 via node-b" 30 http_try client "$(url "$LBR4" 80)"
wait_for "the client reaches LB $LBR6 via node-b" 30 http_try client "$(url "$LBR6" 80)"
for fam in 4 6; do
    fam_addrs "$fam"
    lbr=$LBR4
    [ $fam = 4 ] || lbr=$LBR6
    expect_answer "client -> LB $lbr via node-b (inside the ranges)" client "$(url "$lbr" 80)" \
        web-a "$node_b"
    soft "node-b -> LB $lbr, no node address in the ranges: dropped" silent_drop \
        "node-b -> LB $lbr (no node address in the ranges)" "$(url "$lbr" 80)" node-b
done

step "lbr: IPv6 ranges only: the IPv4 LB address refuses everyone, logged once per change"
declare -A refused_before=()
for n in $CLUSTER_NODES; do refused_before[$n]=$(refused_lines "$n"); done
svc_create lbr 10.96.0.90,fd00:96::90 --tcp 80 --lb "$LBR4" --lb "$LBR6" \
    --source-range fd00:49::/64
wait_for "node-b: lbr's IPv6 range in its table" 30 nft_set_has node-b lb_source6 fd00:49::/64
sleep 1 # the old ranges go right after IPVS is synced
expect_answer "node-b -> LB $LBR6 (its address in the IPv6 range)" node-b "$(url "$LBR6" 80)" \
    web-a "$(node_ip6 node-b)"
silent_drop "client -> LB $LBR4 via node-b (no IPv4 range)" "$(url "$LBR4" 80)"
soft "node-b -> LB $LBR4 with IPv6 ranges only: dropped" silent_drop \
    "node-b -> LB $LBR4 (no IPv4 range)" "$(url "$LBR4" 80)" node-b
# A change of another Service and a periodic sync (10 s) later: still one line per node.
svc_create np 10.96.0.81,fd00:96::81 --tcp 80 --node-port $NP --etp Local
sleep 11
for n in $CLUSTER_NODES; do
    soft "$n logs the IPv4 refusal of lbr once" expect_eq \
        "$n: lines about lbr's IPv4 refusal since the change" \
        "$(($(refused_lines "$n") - ${refused_before[$n]}))" 1
done
grep -h 'msg=refused' "$CLUSTER_DIR/kipvs-node-b.log" || true

if [ ${#MISSED[@]} -gt 0 ]; then
    printf 'FAIL: %s\n' "${MISSED[@]}" >&2
    fail "${#MISSED[@]} case(s) failed (above)"
fi
echo "PASS: vip's ClusterIP, externalIP and LB address on another Service's nodePort answered" \
    "with the client's address under eTP=Local and eTP=Cluster, IPv4 and IPv6; the NodePort's" \
    "own treatment kept; source ranges filter the node's own traffic; ranges of one family" \
    "refuse the other, logged once per change"

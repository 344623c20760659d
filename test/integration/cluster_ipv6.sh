#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest (test cluster, test/cluster/cluster.sh, dual-stack: CLUSTER_IPV6=1):
# IPv6 traffic through the packet path, on one IPv6 single-stack LoadBalancer Service (ClusterIP
# fd00:96::50, TCP 80 with NodePort 30060, UDP 53; LB ingress 2001:db8:200::140, routed by the
# router to one node at a time with lb_route; loadBalancerSourceRanges 2001:db8:100::/64, the
# client's network; externalIP 2001:db8:300::7, routed the same way) whose only pod web-a is on
# node-a:
#  - ipvsadm -Ln on node-a shows the [v6]:port virtual servers with web-a's [v6]:port;
#  - pod -> the IPv6 ClusterIP on the same node (cli-a) and across nodes (cli-b): the pod sees
#    the client pod's own IPv6 address (no SNAT); UDP the same through the ClusterIP;
#  - hairpin: web-a reaches itself through its own IPv6 ClusterIP, masqueraded;
#  - node-b itself -> the ClusterIP (output chain) and the external client -> the ClusterIP
#    through node-b (the router given a route for it; a source outside the IPv6 --cluster-cidr):
#    both masqueraded, the pod sees fd00:49::4;
#  - eTP=Cluster: the external client (2001:db8:100::79) reaches the NodePort on node-b's IPv6
#    address (node-b has no pod), the LB address and the externalIP through node-b: the pod sees
#    node-b's fd00:49::4 (SNAT); the router (fd00:49::1, outside the source ranges) is dropped at
#    the LB address while it reaches the NodePort;
#  - the VIP filter: a listener on node-a's port 22 answers on node-a's IPv6 address but is
#    refused through the IPv6 ClusterIP, whose Service port answers;
#  - eTP=Local: through node-a (NodePort, LB address, externalIP) the pod sees
#    2001:db8:100::79; node-b and node-c drop silently (a timeout, not a refusal); the VIP filter
#    lets the healthCheckNodePort through at the LB address (200 with localEndpoints 1 through
#    node-a, 503 with 0 through node-b);
#  - a RequireDualStack NodePort Service (10.96.0.70 and fd00:96::70, one slice per family):
#    node-b's table has each family's virtual servers with that family's real server only;
#    cli-b reaches both ClusterIPs with its own address of that family, and the client both of
#    node-b's NodePorts, masqueraded to node-b's address of that family.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/../cluster/cluster.sh"

VIP=fd00:96::50
LB=2001:db8:200::140
RANGE=2001:db8:100::/64
EIP=2001:db8:300::7

step "dual-stack cluster up; web-a and cli-a on node-a, cli-b on node-b; a listener on node-a's port 22"
CLUSTER_IPV6=1
cluster_up
pod_add node-a web-a
pod_add node-a cli-a
pod_add node-b cli-b
# A stand-in for sshd on node-a (echo.py listens on :: too); cluster_down stops it.
mkdir -p "$CLUSTER_DIR/pods"
ip netns exec node-a "$CLUSTER_PY" -S "$CLUSTER_SRC/test/cluster/echo.py" sshd-a \
    "$CLUSTER_DIR/pods/sshd-a.ready" tcp:22 >>"$CLUSTER_DIR/pods/sshd-a.log" 2>&1 &
CLUSTER_POD_ECHO[sshd-a]=$!
pods_wait
WEB=$(pod_ip6 web-a)
svc_create web6 "$VIP" --tcp 80 --node-port 30060 --udp 53 --node-port 30061 --lb "$LB" \
    --source-range "$RANGE" --external-ip "$EIP"
slice_set_endpoints web6 web-a
nodes_wait_line "-a -t [$VIP]:80 -r [$WEB]:8080 -m -w 1" 120 # kipvs under ASan, loaded host
nodes_wait_line "-a -u [$VIP]:53 -r [$WEB]:5353 -m -w 1" 30
nodes_wait_line "-a -t [$LB]:80 -r [$WEB]:8080 -m -w 1" 30
nodes_wait_line "-a -t [$EIP]:80 -r [$WEB]:8080 -m -w 1" 30
for n in $CLUSTER_NODES; do
    wait_for "$n: NodePort [$(node_ip6 "$n")]:30060" 30 node_has_line "$n" \
        "-a -t [$(node_ip6 "$n")]:30060 -r [$WEB]:8080 -m -w 1"
done

step "ipvsadm -Ln on node-a: the [v6]:port virtual servers and their real server"
ln=$(ip netns exec node-a ipvsadm -Ln) || fail "ipvsadm -Ln on node-a"
echo "$ln"
# vs_has_rs PROTO VS RS: the -Ln block of virtual server VS lists real server RS (Masq).
vs_has_rs() {
    awk -v vs="$1  $2 " -v rs="  -> $3 " '
        /^(TCP|UDP|SCTP) / { cur = (index($0, vs) == 1) }
        cur && index($0, rs) == 1 && / Masq / { found = 1 }
        END { exit !found }' <<<"$ln"
}
for want in "TCP [$VIP]:80 [$WEB]:8080" "UDP [$VIP]:53 [$WEB]:5353" "TCP [$LB]:80 [$WEB]:8080" "TCP [$EIP]:80 [$WEB]:8080" \
    "TCP [$(node_ip6 node-a)]:30060 [$WEB]:8080" "UDP [$(node_ip6 node-a)]:30061 [$WEB]:5353"; do
    read -r proto vs rs <<<"$want"
    vs_has_rs "$proto" "$vs" "$rs" || fail "node-a ipvsadm -Ln: no '$proto $vs' with real server $rs"
done

step "pod -> IPv6 ClusterIP: same node (cli-a) and across nodes (cli-b) keep the client's address"
for c in cli-a cli-b; do
    expect_answer "$c -> [$VIP]:80" "$c" "http://[$VIP]/" web-a "$(pod_ip6 "$c")"
done

step "UDP over IPv6 through the ClusterIP"
out=$(udp_query cli-b "$VIP" 53) || fail "cli-b -> [$VIP]:53/udp: no answer"
echo "cli-b udp: $out"
expect_eq "cli-b -> [$VIP]:53/udp: pod" "$(echo_pod "$out")" web-a
expect_eq "cli-b -> [$VIP]:53/udp: client seen" "$(echo_client "$out")" "$(pod_ip6 cli-b)"

step "hairpin: web-a -> its own IPv6 ClusterIP (masqueraded)"
out=$(http_from web-a "http://[$VIP]/")
echo "hairpin: $out"
expect_eq "hairpin: pod" "$(echo_pod "$out")" web-a
c=$(echo_client "$out")
[ -n "$c" ] && [ "$c" != "$WEB" ] || fail "hairpin: the pod saw '$c', want a masqueraded source"

step "node-b -> the ClusterIP; the client -> the ClusterIP via node-b (outside the cluster CIDR)"
expect_answer "node-b -> [$VIP]:80 (masqueraded)" node-b "http://[$VIP]/" web-a "$(node_ip6 node-b)"
ip -n router route add "$VIP/128" via "$(node_ip6 node-b)" || fail "router: $VIP via node-b"
expect_answer "client -> [$VIP]:80 via node-b (masqueraded)" client "http://[$VIP]/" web-a \
    "$(node_ip6 node-b)"
ip -n router route del "$VIP/128" || fail "router: route to $VIP"

step "eTP=Cluster: external client -> NodePort on node-b's IPv6 address (no pod there): SNAT"
expect_answer "via node-b (masqueraded)" client "http://[$(node_ip6 node-b)]:30060/" web-a \
    "$(node_ip6 node-b)"

step "eTP=Cluster: the client -> the LB address through node-b: SNAT; the router is not in the source ranges"
lb_route "$LB" node-b
expect_answer "LB via node-b (masqueraded)" client "http://[$LB]/" web-a "$(node_ip6 node-b)"
expect_answer "router -> NodePort via node-b (no source ranges there)" router \
    "http://[$(node_ip6 node-b)]:30060/" web-a
silent_drop "router ($CLUSTER_ROUTER_IP6, outside $RANGE) -> LB via node-b" "http://[$LB]/" router
lb_route "$EIP" node-b
expect_answer "externalIP via node-b (masqueraded)" client "http://[$EIP]/" web-a "$(node_ip6 node-b)"

step "VIP filter: node-a's port 22 is refused through the IPv6 ClusterIP; the Service port is not"
expect_answer "[node-a]:22 (the listener is there)" client "http://[$(node_ip6 node-a)]:22/" sshd-a
expect_answer "cli-a -> [node-a]:22" cli-a "http://[$(node_ip6 node-a)]:22/" sshd-a
# The refusal (ICMPv6 port unreachable) of the first SYN reaches cli-a while connect() still
# holds the socket in the single-CPU guest (TcpExtLockDroppedIcmps), so TCP reports it for the
# SYN retransmitted a second later: 3 s to connect, and exit 7 (refused) is not 28 (timeout).
rc=0
out=$(from_ns cli-a curl --connect-timeout 3 --max-time 5 "http://[$VIP]:22/" 2>&1) || rc=$?
echo "cli-a -> [$VIP]:22: exit=$rc $out"
expect_eq "cli-a -> [$VIP]:22 (curl exit status: refused)" "$rc" 7
expect_answer "cli-a -> [$VIP]:80 after the refusal" cli-a "http://[$VIP]:80/" web-a

step "eTP=Local: through node-a the pod sees 2001:db8:100::79; node-b and node-c drop silently"
svc_create web6 "$VIP" --tcp 80 --node-port 30060 --udp 53 --node-port 30061 --lb "$LB" \
    --source-range "$RANGE" --external-ip "$EIP" --etp Local --hc-port 30062
for n in node-b node-c; do
    wait_for "$n drops its NodePort real server" 30 node_lacks_line "$n" \
        "-a -t [$(node_ip6 "$n")]:30060 -r [$WEB]:8080 -m -w 1"
    wait_for "$n drops its LB real server" 30 node_lacks_line "$n" "-a -t [$LB]:80 -r [$WEB]:8080 -m -w 1"
    wait_for "$n drops its externalIP real server" 30 node_lacks_line "$n" \
        "-a -t [$EIP]:80 -r [$WEB]:8080 -m -w 1"
done
lb_route "$LB" node-a
lb_route "$EIP" node-a
for url in "http://[$(node_ip6 node-a)]:30060/" "http://[$LB]/" "http://[$EIP]/"; do
    wait_for "eTP=Local $url via node-a: the pod sees $CLUSTER_CLIENT_IP6" 30 \
        sees_client "$url" "$CLUSTER_CLIENT_IP6"
    expect_answer "eTP=Local $url via node-a" client "$url" web-a "$CLUSTER_CLIENT_IP6"
done
sleep 1
for n in node-b node-c; do
    silent_drop "eTP=Local NodePort via $n" "http://[$(node_ip6 "$n")]:30060/"
    lb_route "$LB" "$n"
    silent_drop "eTP=Local LB via $n" "http://[$LB]/"
    lb_route "$EIP" "$n"
    silent_drop "eTP=Local externalIP via $n" "http://[$EIP]/"
done

step "VIP filter on the LB address: the healthCheckNodePort 30062 is accepted"
lb_route "$LB" node-b
wait_for "[LB]:30062 via node-b: 503, localEndpoints 0" 30 hc_is "http://[$LB]:30062/" 503 0
echo "[LB]:30062 via node-b: $(from_ns client curl -w ' %{http_code}' "http://[$LB]:30062/" || true)"
lb_route "$LB" node-a
wait_for "[LB]:30062 via node-a: 200, localEndpoints 1" 30 hc_is "http://[$LB]:30062/" 200 1
echo "[LB]:30062 via node-a: $(from_ns client curl -w ' %{http_code}' "http://[$LB]:30062/" || true)"
step "a dual-stack Service: both ClusterIPs and both NodePorts, each family to its own real server"
svc_create ds 10.96.0.70,fd00:96::70 --tcp 80 --node-port 30070
slice_set_endpoints ds web-a
for line in "-a -t 10.96.0.70:80 -r $(pod_ip web-a):8080 -m -w 1" \
    "-a -t [fd00:96::70]:80 -r [$WEB]:8080 -m -w 1" \
    "-a -t $(node_ip node-b):30070 -r $(pod_ip web-a):8080 -m -w 1" \
    "-a -t [$(node_ip6 node-b)]:30070 -r [$WEB]:8080 -m -w 1"; do
    wait_for "node-b: '$line'" 30 node_has_line node-b "$line"
done
t=$(node_table node-b) || fail "ipvsadm -Sn on node-b"
n=$(grep -cE -- '^-a -t (10\.96\.0\.70:80|\[fd00:96::70\]:80|[^ ]*:30070) ' <<<"$t") || true
expect_eq "node-b: real servers of the dual-stack Service (one per virtual server)" "$n" 4
expect_answer "cli-b -> 10.96.0.70" cli-b http://10.96.0.70/ web-a "$(pod_ip cli-b)"
expect_answer "cli-b -> [fd00:96::70]" cli-b "http://[fd00:96::70]/" web-a "$(pod_ip6 cli-b)"
expect_answer "client -> node-b:30070 (masqueraded)" client "http://$(node_ip node-b):30070/" \
    web-a "$(node_ip node-b)"
expect_answer "client -> [node-b]:30070 (masqueraded)" client \
    "http://[$(node_ip6 node-b)]:30070/" web-a "$(node_ip6 node-b)"
echo "PASS: IPv6 ClusterIP (same node, cross-node, UDP, hairpin, from a node, from outside)," \
    "NodePort, LB and externalIP SNAT under eTP=Cluster, LB source ranges, the real client under" \
    "eTP=Local and silent drops elsewhere, the VIP filter (port 22 refused, health-check port in)," \
    "a dual-stack Service"

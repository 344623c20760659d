#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What kipvs's nftables rules do, with real traffic (runs in the guest): a client namespace ->
# a node namespace (IPVS and nftables through fw_node_sync, driven by fw_driver --ipvs) -> a pod
# namespace running the echo server, which answers with the source address it saw.
#   - NodePort under eTP=Cluster: masqueraded, the pod sees a node address;
#   - NodePort under eTP=Local: the pod sees the client's address;
#   - eTP=Local without a local endpoint: dropped silently (a timeout, not a refusal);
#   - the VIP filter: a node listener on port 22 is not reachable through a ClusterIP, but is on
#     the node's address; the Service port on the ClusterIP is;
#   - loadBalancerSourceRanges: the allowed source connects, another source times out;
#   - hairpin: the pod reaches itself through its ClusterIP;
#   - INVALID drop: a TCP segment conntrack cannot track (SYN+FIN, crafted with a raw socket)
#     routed through the node to the pod never reaches the pod.
# Last, `kipvs cleanup` leaves `nft list ruleset` and `ipvsadm -Sn` as they were before.
# usage: fw_traffic.sh [FW_DRIVER [KIPVS]]
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/fw_lib.sh"

driver=${1:-$KIPVS_BUILD_DIR/test/integration/fw_driver}
kipvs=${2:-$KIPVS_BUILD_DIR/cmd/kipvs}
echo_py=${KIPVS_SOURCE_DIR:-$(dirname "$(readlink -f "$0")")/../..}/test/cluster/echo.py
[ -x "$driver" ] || fail "no fw_driver at '$driver'"
[ -x "$kipvs" ] || fail "no kipvs at '$kipvs'"
ipvs_load

step "topology: client 192.168.49.100/.101 -- node-a 192.168.49.3 -- pod 10.244.1.5"
netns_add node
netns_add client
veth_pair node ncl client cl0
ip -n node addr add 192.168.49.3/24 dev ncl || fail "node address"
ip -n client addr add 192.168.49.100/24 dev cl0 || fail "client address"
ip -n client addr add 192.168.49.101/24 dev cl0 || fail "client second address"
for dst in 10.96.0.0/16 203.0.113.0/24 10.244.0.0/16; do
    ip -n client route add "$dst" via 192.168.49.3 || fail "client route $dst"
done
netns_pod pod 10.244.1.5/24 10.244.1.1 node
ip netns exec node nft add table ip mine || fail "a table of someone else's"
ip netns exec node nft add chain ip mine c '{ type filter hook input priority 10; }' || fail "chain"
ruleset_before=$(ip netns exec node nft list ruleset)
mkdir -p /tmp/pods
ip netns exec pod /usr/bin/python3 -S "$echo_py" pod /tmp/pods/pod.ready tcp:8080 \
    >/tmp/pods/pod.log 2>&1 &
# A stand-in for sshd on the node: any listener on port 22.
ip netns exec node /usr/bin/python3 -S "$echo_py" sshd /tmp/pods/sshd.ready tcp:22 \
    >/tmp/pods/sshd.log 2>&1 &
for f in pod sshd; do
    for ((i = 0; i < 100; i++)); do [ -e /tmp/pods/$f.ready ] && break; sleep 0.1; done
    [ -e /tmp/pods/$f.ready ] || fail "echo server $f did not start"
done

fw_fixture /tmp/svc.json <<'END'
npc NodePort 10.96.0.10 80/tcp:8080 node=30080 eps=10.244.1.5@node-a
npl NodePort 10.96.0.11 80/tcp:8080 node=30081 etp=Local eps=10.244.1.5@node-a
npn NodePort 10.96.0.12 80/tcp:8080 node=30082 etp=Local eps=10.244.9.9@node-b
lbr LoadBalancer 10.96.0.13 80/tcp:8080 node=30083 lb=203.0.113.7 ranges=192.168.49.100/32 eps=10.244.1.5@node-a
END

step "IPVS and the nftables table through fw_node_sync (fw_driver --ipvs)"
out=$(ip netns exec node "$driver" apply /tmp/svc.json --node node-a --node-ip 192.168.49.3 \
    --cluster-cidr 10.244.0.0/16 --ipvs 2>&1) || { echo "$out"; fail "fw_driver apply --ipvs failed"; }
echo "$out"
expect_line "verified" "$out" "fw_driver: verified 19 elements and the IPVS table"
ip netns exec node ipvsadm -Ln

# get NS URL [curl options]: the body, or "exit=N" (7 refused, 28 timeout).
get() {
    local ns=$1 url=$2 body rc
    shift 2
    body=$(ip netns exec "$ns" curl -sS --max-time 3 "$@" "$url" 2>/dev/null)
    rc=$?
    if [ $rc -ne 0 ]; then echo "exit=$rc"; else echo "$body"; fi
}
client_of() { sed -n 's/.*client=\([^:]*\):.*/\1/p' <<<"$1"; }

step "NodePort, eTP=Cluster: masqueraded (the pod sees the node, not the client)"
r=$(get client http://192.168.49.3:30080/)
echo "$r"
expect_eq "eTP=Cluster source" "$(client_of "$r")" "10.244.1.1"

step "NodePort, eTP=Local: the pod sees the client's address"
r=$(get client http://192.168.49.3:30081/)
echo "$r"
expect_eq "eTP=Local source" "$(client_of "$r")" "192.168.49.100"

step "NodePort, eTP=Local without a local endpoint: silently dropped (timeout, not refused)"
expect_eq "no local endpoint" "$(get client http://192.168.49.3:30082/)" "exit=28"

step "ClusterIP from outside the cluster CIDR: served, masqueraded"
r=$(get client http://10.96.0.10:80/)
echo "$r"
expect_eq "ClusterIP from outside" "$(client_of "$r")" "10.244.1.1"

step "VIP filter: port 22 on a ClusterIP is refused; on the node address it answers"
expect_eq "VIP:22" "$(get client http://10.96.0.10:22/)" "exit=7"
r=$(get client http://192.168.49.3:22/)
expect_eq "node:22" "$(sed -n 's/^pod=\([a-z]*\).*/\1/p' <<<"$r")" "sshd"

step "loadBalancerSourceRanges: the allowed source connects, another times out"
r=$(get client http://203.0.113.7:80/)
echo "$r"
expect_eq "allowed source" "$(client_of "$r")" "10.244.1.1"
expect_eq "other source" "$(get client http://203.0.113.7:80/ --interface 192.168.49.101)" "exit=28"

step "hairpin: the pod reaches itself through its ClusterIP (masqueraded)"
r=$(get pod http://10.96.0.10:80/)
echo "$r"
expect_eq "hairpin source" "$(client_of "$r")" "10.244.1.1"

step "npn gets a local endpoint: its drop goes (after IPVS has the real server); the pod sees the client"
fw_fixture /tmp/svc2.json <<'END'
npc NodePort 10.96.0.10 80/tcp:8080 node=30080 eps=10.244.1.5@node-a
npl NodePort 10.96.0.11 80/tcp:8080 node=30081 etp=Local eps=10.244.1.5@node-a
npn NodePort 10.96.0.12 80/tcp:8080 node=30082 etp=Local eps=10.244.1.5@node-a
lbr LoadBalancer 10.96.0.13 80/tcp:8080 node=30083 lb=203.0.113.7 ranges=192.168.49.100/32 eps=10.244.1.5@node-a
END
out=$(ip netns exec node "$driver" apply /tmp/svc2.json --node node-a --node-ip 192.168.49.3 \
    --cluster-cidr 10.244.0.0/16 --ipvs 2>&1) || { echo "$out"; fail "fw_driver apply svc2 failed"; }
echo "$out"
expect_eq "no_local4 emptied" "$(fw_set_elements node no_local4)" ""
expect_eq "node_port_no_local4 emptied" "$(fw_set_elements node node_port_no_local4)" ""
r=$(get client http://192.168.49.3:30082/)
echo "$r"
expect_eq "eTP=Local with a local endpoint now" "$(client_of "$r")" "192.168.49.100"

# craft: one TCP segment with SYN+FIN from the client to the pod's 8080, through the node.
craft() {
    ip netns exec client /usr/bin/python3 -S -c '
import socket, struct
src, dst = socket.inet_aton("192.168.49.100"), socket.inet_aton("10.244.1.5")
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
hdr = struct.pack("!HHIIBBHHH", 40999, 8080, 12345, 0, 5 << 4, 0x03, 65535, 0, 0)
c = csum(src + dst + struct.pack("!BBH", 0, 6, len(hdr)) + hdr)
hdr = hdr[:16] + struct.pack("!H", c) + hdr[18:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.sendto(hdr, ("10.244.1.5", 0))
'
}
# seen: how many SYN+FIN segments reached the pod (a counter in the pod's own table).
seen() {
    ip netns exec pod nft list chain inet cnt in | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

step "INVALID drop: a SYN+FIN segment routed through the node never reaches the pod"
ip netns exec pod nft -f - <<'END' || fail "pod counter table"
table inet cnt {
    chain in {
        type filter hook prerouting priority -300; policy accept;
        tcp dport 8080 tcp flags & (syn | fin) == (syn | fin) counter
    }
}
END
craft || fail "cannot send the crafted segment"
sleep 0.5
expect_eq "SYN+FIN segments seen by the pod" "$(seen)" "0"

step "without kipvs's table the same checks fail (the rules, not the setup, did it)"
ip netns exec node "$driver" remove || fail "remove failed"
r=$(get client http://10.96.0.10:22/)
[ "$r" != "exit=7" ] || fail "VIP:22 still refused without the table"
craft || fail "cannot send the crafted segment"
sleep 0.5
expect_eq "SYN+FIN reaches the pod without the table" "$(seen)" "1"
r=$(get client http://192.168.49.3:30080/)
expect_eq "no masquerade without the table" "$(client_of "$r")" "192.168.49.100"

step "kipvs cleanup leaves nft list ruleset and ipvsadm -Sn as they were before"
out=$(ip netns exec node "$driver" apply /tmp/svc2.json --node node-a --node-ip 192.168.49.3 \
    --cluster-cidr 10.244.0.0/16 --ipvs 2>&1) || { echo "$out"; fail "re-apply failed"; }
ip netns exec node "$kipvs" cleanup 2>/tmp/cleanup.err || { cat /tmp/cleanup.err; fail "kipvs cleanup failed"; }
cat /tmp/cleanup.err
expect_eq "ruleset after cleanup" "$(ip netns exec node nft list ruleset)" "$ruleset_before"
expect_eq "ipvsadm after cleanup" "$(ip netns exec node ipvsadm -Sn)" ""
echo "PASS: masquerade, eTP=Local source and drop, VIP filter, source ranges, hairpin and the INVALID drop seen with real traffic"

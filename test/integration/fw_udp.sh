#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# UDP conntrack cleanup with real traffic (runs in the guest): a client that always sends from the
# same source port to a UDP ClusterIP (so it reuses its conntrack entry)
#   - keeps getting answers when the Service's only pod is replaced by another (an entry that
#     still points at the removed pod is deleted over ctnetlink by fw_node_sync);
#   - gets answers at once when a Service that had no endpoints gets one;
# and ipvs_conntrack_udp_flush() itself against the kernel: a UDP entry whose reply source is
# not kept is deleted, one whose reply source is kept stays, TCP and other ports stay.
# usage: fw_udp.sh [FW_DRIVER]
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/fw_lib.sh"

driver=${1:-$KIPVS_BUILD_DIR/test/integration/fw_driver}
echo_py=${KIPVS_SOURCE_DIR:-$(dirname "$(readlink -f "$0")")/../..}/test/cluster/echo.py
[ -x "$driver" ] || fail "no fw_driver at '$driver'"
ipvs_load

step "topology: client 192.168.49.100 -- node-a 192.168.49.3 -- pods 10.244.1.5 (p1), 10.244.2.5 (p2)"
netns_add node
netns_add client
veth_pair node ncl client cl0
ip -n node addr add 192.168.49.3/24 dev ncl || fail "node address"
ip -n client addr add 192.168.49.100/24 dev cl0 || fail "client address"
ip -n client route add 10.96.0.0/16 via 192.168.49.3 || fail "client route"
netns_pod p1 10.244.1.5/24 10.244.1.1 node
netns_pod p2 10.244.2.5/24 10.244.2.1 node
mkdir -p /tmp/pods
for p in p1 p2; do
    ip netns exec $p /usr/bin/python3 -S "$echo_py" $p /tmp/pods/$p.ready udp:5353 >/tmp/pods/$p.log 2>&1 &
done
for p in p1 p2; do
    for ((i = 0; i < 100; i++)); do [ -e /tmp/pods/$p.ready ] && break; sleep 0.1; done
    [ -e /tmp/pods/$p.ready ] || fail "echo server $p did not start"
done

# ask VIP: one datagram from source port 40053, the answer's pod name or "none" (1 s).
ask() {
    ip netns exec client /usr/bin/python3 -S -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.168.49.100", 40053))
s.settimeout(1)
s.sendto(b"hi", (sys.argv[1], 53))
try:
    print(s.recv(512).decode().split()[0].split("=")[1])
except OSError:
    print("none")
' "$1"
}
sync_to() { # sync_to FILE [PREVIOUS]: IPVS + nftables + conntrack through fw_node_sync
    local out
    out=$(ip netns exec node "$driver" apply "$1" --node node-a --node-ip 192.168.49.3 \
        --cluster-cidr 10.244.0.0/16 --ipvs ${2:+--previous "$2"} 2>&1) || { echo "$out"; fail "sync to $1 failed"; }
    echo "$out" | grep conntrack=
}

fw_fixture /tmp/one.json <<'END'
dns ClusterIP 10.96.0.20 53/udp:5353 eps=10.244.1.5@node-a
empty ClusterIP 10.96.0.21 53/udp:5353
END
fw_fixture /tmp/two.json <<'END'
dns ClusterIP 10.96.0.20 53/udp:5353 eps=10.244.2.5@node-a
empty ClusterIP 10.96.0.21 53/udp:5353
END
fw_fixture /tmp/three.json <<'END'
dns ClusterIP 10.96.0.20 53/udp:5353 eps=10.244.2.5@node-a
empty ClusterIP 10.96.0.21 53/udp:5353 eps=10.244.1.5@node-a
END

step "p1 serves dns; the client's entry points at p1"
sync_to /tmp/one.json
expect_eq "answer before" "$(ask 10.96.0.20)" "p1"
expect_eq "answer again (same entry)" "$(ask 10.96.0.20)" "p1"

step "no endpoints: no answer"
expect_eq "empty service" "$(ask 10.96.0.21)" "none"

step "p1 replaced by p2: the next datagram from the same source port reaches p2"
kill "$(cat /tmp/pods/p1.ready)" 2>/dev/null || true
out=$(sync_to /tmp/two.json /tmp/one.json)
echo "$out"
# Kernels from 5.9 with expire_nodest_conn=1 expire the removed server's IPVS connections, and
# with them their conntrack entries, on their own; older ones leave them to kipvs. Either way the
# next datagram must reach p2.
expect_eq "answer after the replacement" "$(ask 10.96.0.20)" "p2"

step "the empty Service gets an endpoint: the next datagram is answered at once"
ip netns exec p1 /usr/bin/python3 -S "$echo_py" p1 /tmp/pods/p1b.ready udp:5353 >/tmp/pods/p1b.log 2>&1 &
for ((i = 0; i < 100; i++)); do [ -e /tmp/pods/p1b.ready ] && break; sleep 0.1; done
expect_eq "still none before the sync" "$(ask 10.96.0.21)" "none"
out=$(sync_to /tmp/three.json /tmp/two.json)
echo "$out"
expect_eq "answer after the first endpoint" "$(ask 10.96.0.21)" "p1"
step "ipvs_conntrack_udp_flush against the kernel's table (entries to a node listener)"
ip netns exec node /usr/bin/python3 -S "$echo_py" lsn /tmp/pods/lsn.ready udp:7000 udp:7001 >/tmp/pods/lsn.log 2>&1 &
for ((i = 0; i < 100; i++)); do [ -e /tmp/pods/lsn.ready ] && break; sleep 0.1; done
for port in 7000 7001; do
    ip netns exec client /usr/bin/python3 -S -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b"hi", ("192.168.49.3", int(sys.argv[1])))
s.recv(512)
' $port || fail "no answer from the node listener on $port"
done
d() { ip netns exec node "$driver" "$@"; }
expect_eq "kept reply source stays" "$(d conntrack-flush 192.168.49.3 7000 192.168.49.3:7000)" "deleted=0"
expect_eq "stale entry deleted" "$(d conntrack-flush 192.168.49.3 7000 10.244.2.5:5353)" "deleted=1"
expect_eq "gone after the flush" "$(d conntrack-flush 192.168.49.3 7000)" "deleted=0"
expect_eq "the other port untouched, then deleted" "$(d conntrack-flush 192.168.49.3 7001)" "deleted=1"
echo "PASS: UDP clients follow a replaced pod and a first endpoint at once (conntrack cleaned over ctnetlink)"

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
#   - ClusterIP masquerade: a client inside --cluster-cidr keeps its address, with
#     --masquerade-all it is masqueraded; with neither flag a warning says so;
#   - INVALID drop: a TCP segment conntrack cannot track (SYN+FIN, crafted with a raw socket)
#     routed through the node to the pod never reaches the pod.
#   - INVALID drop on a live connection, as the upstream e2e "should drop INVALID conntrack
#     entries": the pod injects (raw socket) an out-of-window segment of an established
#     connection towards the client; the node drops it, and the connection keeps working;
#   - structural drift: with the forward drop deleted by handle and prerouting flushed, that
#     segment reaches the client and eTP=Cluster is not masqueraded; verification (fw_driver
#     verify) reinstalls the table and both treatments are back.
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
# boom: a line echo server on 9090 that, on the line "boom", first injects one segment of the
# same connection towards the client with a sequence number 1 GiB past what it has sent (out of
# window), window 1234 (the client counts those), from its own address, with a raw socket.
cat >/tmp/pods/boom.py <<'PY'
import socket, struct, sys
def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def inject(raw, me, peer):
    last = None
    while True:  # the copies of the client's segments: the last one with data
        try:
            p = raw.recv(65535)
        except BlockingIOError:
            break
        ihl = (p[0] & 15) * 4
        sport, dport, seq, ack = struct.unpack("!HHII", p[ihl:ihl + 12])
        n = struct.unpack("!H", p[2:4])[0] - ihl - (p[ihl + 12] >> 4) * 4
        if socket.inet_ntoa(p[12:16]) == peer[0] and sport == peer[1] and n > 0:
            last = ((seq + n) & 0xffffffff, ack)  # our rcv_nxt, our snd_nxt
    seq = (last[1] + 0x40000000) & 0xffffffff
    seg = struct.pack("!HHIIBBHHH", 9090, peer[1], seq, last[0], 5 << 4, 0x18, 1234, 0, 0) + b"x"
    c = csum(socket.inet_aton(me) + socket.inet_aton(peer[0]) + struct.pack("!BBH", 0, 6, len(seg)) + seg)
    raw.sendto(seg[:16] + struct.pack("!H", c) + seg[18:], (peer[0], 0))
    print("injected to %s:%d seq=%d snd_nxt=%d" % (peer[0], peer[1], seq, last[1]), flush=True)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 9090))
ls.listen(8)
open(sys.argv[2], "w").close()
while True:
    c, peer = ls.accept()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    raw.setblocking(False)
    buf = b""
    while True:
        d = c.recv(4096)
        if not d:
            break
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line == b"boom":
                inject(raw, sys.argv[1], peer)
            c.sendall(line + b"\n")
    raw.close()
    c.close()
PY
ip netns exec pod /usr/bin/python3 -S /tmp/pods/boom.py 10.244.1.5 /tmp/pods/boom.ready \
    >/tmp/pods/boom.log 2>&1 &
for f in pod sshd boom; do
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
inv NodePort 10.96.0.14 80/tcp:9090 node=30084 etp=Local eps=10.244.1.5@node-a
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

# live: one connection from the client to the NodePort 30084 (eTP=Local, so the pod answers the
# client's own address and its segments are forwarded by the node): "hello", "boom" (the pod
# injects its out-of-window segment before echoing), a second's wait, "after". Prints the
# three echoes, or the error that ended the connection.
live() {
    ip netns exec client /usr/bin/python3 -S -c '
import socket, time
s = socket.create_connection(("192.168.49.3", 30084), timeout=3)
def rt(m):
    s.sendall(m + b"\n")
    got = b""
    while not got.endswith(b"\n"):
        d = s.recv(100)
        if not d:
            raise EOFError("closed by the peer")
        got += d
    return got.decode().strip()
try:
    r = [rt(b"hello"), rt(b"boom")]
    time.sleep(1)
    r.append(rt(b"after"))
    print(" ".join(r))
except Exception as e:
    print("error:", type(e).__name__, e)
'
}
# client_count CHAIN: the client's counter of injected segments received (in) or RSTs sent (out).
client_count() {
    ip netns exec client nft list chain inet cc "$1" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
injected() { grep -c '^injected' /tmp/pods/boom.log || true; }
# expect_live WHAT: the live connection's three echoes came back.
expect_live() {
    local r
    r=$(live)
    [ "$r" = "hello boom after" ] || { cat /tmp/pods/boom.log; fail "$1: got '$r'"; }
}

step "INVALID drop on a live connection: the pod's out-of-window segment is dropped on the node, the connection keeps working"
ip netns exec client nft -f - <<'END' || fail "client counter table"
table inet cc {
    chain in { type filter hook prerouting priority -300; policy accept; tcp window 1234 counter; }
    chain out { type filter hook output priority -300; policy accept; tcp flags & rst == rst counter; }
}
END
expect_live "live connection"
expect_eq "segments injected by the pod" "$(injected)" "1"
expect_eq "injected segments that reached the client" "$(client_count in)" "0"
expect_eq "RSTs the client sent" "$(client_count out)" "0"

step "structural drift: forward drop deleted by handle, prerouting flushed: the segment reaches the client, eTP=Cluster is not masqueraded"
table_before=$(ip netns exec node nft -t list table inet kipvs)
h=$(ip netns exec node nft -a list chain inet kipvs forward | sed -n 's/.*ct state invalid drop # handle \([0-9]*\)$/\1/p')
[ -n "$h" ] || fail "no handle for the forward drop rule"
ip netns exec node nft delete rule inet kipvs forward handle "$h" || fail "delete rule by handle"
ip netns exec node nft flush chain inet kipvs prerouting || fail "flush chain"
expect_live "live connection without the drop"
expect_eq "segments injected by the pod" "$(injected)" "2"
# IPVS rewrites the pod's segment to the NodePort's address whatever conntrack's verdict, so
# the client takes it as out of window from its peer (a duplicate ACK, no RST): what the rule
# prevents here is the segment reaching the client at all.
expect_eq "injected segments that reached the client without the drop" "$(client_count in)" "1"
r=$(get client http://192.168.49.3:30080/)
expect_eq "eTP=Cluster source without prerouting" "$(client_of "$r")" "192.168.49.100"

step "verification reinstalls the table in one transaction; both treatments are back"
out=$(ip netns exec node "$driver" verify /tmp/svc2.json --node node-a --node-ip 192.168.49.3 \
    --cluster-cidr 10.244.0.0/16 2>&1) && rc=0 || rc=$?
echo "$out"
expect_eq "verify exit status (3: differed, repaired)" "$rc" 3
grep -q 'msg="nftables table drifted from what kipvs installs; reinstalling it"' <<<"$out" ||
    fail "no warn line about the drift"
expect_eq "table after the reinstall (chains and rules; fw_table checks the elements)" \
    "$(ip netns exec node nft -t list table inet kipvs)" "$table_before"
expect_live "live connection after the reinstall"
expect_eq "segments injected by the pod" "$(injected)" "3"
expect_eq "injected segments that reached the client (still the one from before)" "$(client_count in)" "1"
expect_eq "RSTs the client sent" "$(client_count out)" "0"
r=$(get client http://192.168.49.3:30080/)
expect_eq "eTP=Cluster source after the reinstall" "$(client_of "$r")" "10.244.1.1"

step "ClusterIP masquerade by --cluster-cidr and --masquerade-all; the warning without either"
# apply_with ARGS...: svc2 through fw_node_sync with other masquerade settings; output in $out.
apply_with() {
    out=$(ip netns exec node "$driver" apply /tmp/svc2.json --node node-a \
        --node-ip 192.168.49.3 --ipvs "$@" 2>&1) || { echo "$out"; fail "fw_driver apply $* failed"; }
}
apply_with --cluster-cidr 192.168.49.0/24
r=$(get client http://10.96.0.10:80/)
expect_eq "ClusterIP from inside the cluster CIDR (not masqueraded)" "$(client_of "$r")" "192.168.49.100"
apply_with --cluster-cidr 192.168.49.0/24 --masquerade-all
r=$(get client http://10.96.0.10:80/)
expect_eq "ClusterIP from inside the cluster CIDR with --masquerade-all" "$(client_of "$r")" "10.244.1.1"
apply_with
grep -q 'msg="neither --cluster-cidr nor --masquerade-all is set' <<<"$out" ||
    fail "no warning without --cluster-cidr and --masquerade-all: $out"
r=$(get client http://10.96.0.10:80/)
expect_eq "ClusterIP without either (not masqueraded)" "$(client_of "$r")" "192.168.49.100"

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
echo "PASS: masquerade, eTP=Local source and drop, VIP filter, source ranges, hairpin, the INVALID drops (crafted SYN+FIN, out-of-window on a live connection) and the repair of a hand-deleted rule seen with real traffic"

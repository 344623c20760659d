#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# kipvs's nftables table against the real kernel (runs in the guest, in a fresh network
# namespace): the table, chains, sets and rules are created once; the sets hold what plan_fw
# derives (read back and compared); a change is element adds and deletes with every chain and
# rule handle unchanged; drift is repaired (set elements by the next sync; a rule deleted by
# handle, a chain flushed or deleted: by verification, which reinstalls the table in one
# transaction with its elements); a changed configuration replaces the table; a
# foreign forward drop is detected and warned about; strict ARP is set once; another table is
# never touched; removal deletes only ours.
# usage: fw_table.sh [FW_DRIVER] (default: $KIPVS_BUILD_DIR/test/integration/fw_driver)
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/fw_lib.sh"

driver=${1:-$KIPVS_BUILD_DIR/test/integration/fw_driver}
[ -x "$driver" ] || fail "no fw_driver at '$driver'"
netns_add t
d() { ip netns exec t "$driver" "$@"; }
node=(--node node-a --node-ip 192.168.49.3 --cluster-cidr 10.244.0.0/16)
handles() { ip netns exec t nft -a list table inet kipvs | grep -o '# handle [0-9]*' | tr '\n' ' '; }

fw_fixture /tmp/a.json <<'END'
web ClusterIP 10.96.0.10 80/tcp:8080 eps=10.244.1.5@node-a,10.244.2.5@node-b
np NodePort 10.96.0.11 80/tcp:8080 node=30080 eps=10.244.2.6@node-b
END
fw_fixture /tmp/b.json <<'END'
web ClusterIP 10.96.0.10 80/tcp:8080 eps=10.244.1.5@node-a,10.244.2.7@node-b
lb LoadBalancer 10.96.0.12 443/tcp node=30443 lb=203.0.113.7 etp=Local hc=32000 ranges=192.0.2.0/24,198.51.100.7/32,192.168.49.0/24 eps=10.244.2.8@node-b
END

step "a foreign table exists before kipvs"
ip netns exec t nft -f - <<'END' || fail "cannot create the foreign table"
table ip other {
    chain in { type filter hook input priority 0; policy accept; tcp dport 9999 drop; }
}
END
other_before=$(ip netns exec t nft -a list table ip other)

step "first apply creates the table and fills the sets (verified by reading back)"
out=$(d apply /tmp/a.json "${node[@]}" 2>&1) || { echo "$out"; fail "apply a failed"; }
echo "$out"
expect_line "base created" "$out" "fw_driver: base created"
expect_line "verified" "$out" "fw_driver: verified 8 elements"
expect_eq "cluster_ip4" "$(fw_set_elements t cluster_ip4)" "10.96.0.10 . tcp . 80
10.96.0.11 . tcp . 80"
expect_eq "node_port4" "$(fw_set_elements t node_port4)" "192.168.49.3 . tcp . 30080"
expect_eq "vip4" "$(fw_set_elements t vip4)" "10.96.0.10
10.96.0.11"
expect_eq "hairpin4" "$(fw_set_elements t hairpin4)" "10.244.1.5 . tcp . 8080 . 10.244.1.5
10.244.2.5 . tcp . 8080 . 10.244.2.5
10.244.2.6 . tcp . 8080 . 10.244.2.6"
h1=$(handles)
[ -n "$h1" ] || fail "no handles listed"
table=$(ip netns exec t nft list table inet kipvs)
grep -qF 'meta mark & 0x00004000 == 0x00004000 masquerade fully-random' <<<"$table" ||
    fail "no masquerade rule"

step "a second run keeps the base (same handles); a change is element adds and deletes"
out=$(d apply /tmp/a.json "${node[@]}" --then /tmp/b.json 2>&1) || { echo "$out"; fail "apply a then b failed"; }
echo "$out"
expect_line "base kept" "$out" "fw_driver: base kept"
# a -> b: vip 10.96.0.11, cluster_ip .11, node_port 30080, hairpins .2.5 and .2.6 go (5);
# vip .12 and 203.0.113.7, cluster_ip .12, external_local, node_port_local, lb_filtered,
# 3 lb_source and the LB address as a source (192.168.49.0/24 holds node-a), hc_node_port,
# hairpins .2.7 and .2.8, no_local and node_port_no_local come (15).
expect_line "diff" "$out" "fw_driver: sync added=15 deleted=5 resynced=0"
expect_line "verified" "$out" "fw_driver: verified 18 elements"
expect_eq "handles unchanged" "$(handles)" "$h1"
expect_eq "lb_source4" "$(fw_set_elements t lb_source4)" "203.0.113.7 . tcp . 443 . 192.0.2.0/24
203.0.113.7 . tcp . 443 . 192.168.49.0/24
203.0.113.7 . tcp . 443 . 198.51.100.7
203.0.113.7 . tcp . 443 . 203.0.113.7"
expect_eq "no_local4" "$(fw_set_elements t no_local4)" "203.0.113.7 . tcp . 443"
expect_eq "node_port_no_local4" "$(fw_set_elements t node_port_no_local4)" "192.168.49.3 . tcp . 30443"
expect_eq "hc_node_port" "$(fw_set_elements t hc_node_port)" "tcp . 32000"
expect_eq "node_port4 emptied" "$(fw_set_elements t node_port4)" ""
expect_eq "foreign table untouched" "$(ip netns exec t nft -a list table ip other)" "$other_before"

step "drift (an element deleted and a stray one added by hand) is repaired by the next run"
ip netns exec t nft delete element inet kipvs cluster_ip4 '{ 10.96.0.10 . tcp . 80 }' || fail "delete by hand"
ip netns exec t nft add element inet kipvs vip4 '{ 10.96.9.9 }' || fail "add by hand"
out=$(d apply /tmp/b.json "${node[@]}" 2>&1) || { echo "$out"; fail "repair failed"; }
echo "$out"
expect_line "verified" "$out" "fw_driver: verified 18 elements"
expect_eq "cluster_ip4 repaired" "$(fw_set_elements t cluster_ip4)" "10.96.0.10 . tcp . 80
10.96.0.12 . tcp . 443"
expect_eq "handles unchanged after repair" "$(handles)" "$h1"

step "structural drift (a rule deleted by handle, a chain flushed, a chain deleted) is caught by verification"
# The table as listed, each set's elements sorted (a recreated hash set may list them in
# another order).
listing() {
    ip netns exec t nft list table inet kipvs | python3 -S -c '
import re, sys
def f(m):
    els = sorted(e.strip() for e in m.group(1).split(",") if e.strip())
    return "elements = { " + ", ".join(els) + " }"
sys.stdout.write(re.sub(r"elements = [{]([^}]*)[}]", f, sys.stdin.read()))'
}
before=$(listing)
out=$(d verify /tmp/b.json "${node[@]}" 2>&1) || { echo "$out"; fail "verify of an untouched table did not match"; }
grep -q 'drifted' <<<"$out" && { echo "$out"; fail "an untouched table reported as drifted"; }
h=$(ip netns exec t nft -a list chain inet kipvs forward | sed -n 's/.*ct state invalid drop # handle \([0-9]*\)$/\1/p')
[ -n "$h" ] || fail "no handle for the forward drop rule"
ip netns exec t nft delete rule inet kipvs forward handle "$h" || fail "delete rule by handle"
ip netns exec t nft flush chain inet kipvs prerouting || fail "flush chain"
ip netns exec t nft flush chain inet kipvs output || fail "flush chain output"
ip netns exec t nft delete chain inet kipvs output || fail "delete chain"
out=$(d verify /tmp/b.json "${node[@]}" 2>&1) && rc=0 || rc=$?
echo "$out"
expect_eq "verify exit status (3: differed, repaired)" "$rc" 3
warn=$(grep '^level=warn component=fw msg="nftables table drifted from what kipvs installs; reinstalling it" table=kipvs drift=' <<<"$out") ||
    fail "no warn line about the drift"
for what in "chain prerouting rule missing: ip daddr . meta l4proto . th dport @no_local4 drop" \
    "chain output missing" "chain forward rule missing: ct state invalid drop"; do
    grep -qF "$what" <<<"$warn" || fail "the warn line does not name '$what'"
done
step "the table is back whole (chains, rules, and every set with its elements), in one transaction"
expect_eq "table after the reinstall" "$(listing)" "$before"
out=$(d verify /tmp/b.json "${node[@]}" 2>&1) || { echo "$out"; fail "verify after the reinstall did not match"; }
expect_line "matched" "$out" "fw_driver: verify: matched"
step "a changed configuration (cluster CIDR) replaces the table in one transaction"
out=$(d apply /tmp/b.json --node node-a --node-ip 192.168.49.3 --cluster-cidr 10.200.0.0/16 2>&1) ||
    { echo "$out"; fail "apply with another CIDR failed"; }
expect_line "replaced" "$out" "fw_driver: base created"
expect_eq "cluster_cidr4" "$(fw_set_elements t cluster_cidr4)" "10.200.0.0/16"
expect_eq "foreign table untouched" "$(ip netns exec t nft -a list table ip other)" "$other_before"

step "a foreign forward policy of drop is detected"
d forward-drop && fail "forward drop reported with none present"
ip netns exec t nft -f - <<'END' || fail "cannot create the docker-like table"
table ip filter { chain FORWARD { type filter hook forward priority 0; policy drop; }; }
END
d forward-drop || fail "forward drop not detected"
out=$(d apply /tmp/b.json "${node[@]}" --strict-arp 2>&1) || { echo "$out"; fail "apply with a foreign drop failed"; }
echo "$out"
grep -q 'level=warn component=fw msg="another nftables table drops forwarded packets' <<<"$out" ||
    fail "no start-up warning about the foreign forward drop"
step "strict ARP: set in this namespace, logged with from= and to=, and left alone the second time"
expect_eq "arp_ignore" "$(ip netns exec t cat /proc/sys/net/ipv4/conf/all/arp_ignore)" "1"
expect_eq "arp_announce" "$(ip netns exec t cat /proc/sys/net/ipv4/conf/all/arp_announce)" "2"
grep -q 'msg="strict ARP sysctl set" sysctl=net.ipv4.conf.all.arp_ignore from=0 to=1' <<<"$out" ||
    fail "strict ARP change not logged"
out=$(d apply /tmp/b.json "${node[@]}" --strict-arp 2>&1) || { echo "$out"; fail "second strict-ARP apply failed"; }
grep -q 'strict ARP sysctl set' <<<"$out" && fail "strict ARP rewritten although unchanged"
ip netns exec t nft delete table ip filter

step "the daemon's own periodic verification repairs a rule deleted by handle"
kipvs=$KIPVS_BUILD_DIR/cmd/kipvs
[ -x "$kipvs" ] || fail "no kipvs at '$kipvs'"
netns_add dn
ip netns exec dn "$kipvs" run --from /tmp/a.json --hostname-override node-a \
    --cluster-cidr 10.244.0.0/16 --ipvs-sync-period 2s >/tmp/dn.log 2>&1 &
dn_pid=$!
# forward_has_drop: table inet kipvs in dn has the forward drop (no pipe into grep -q).
forward_has_drop() {
    [[ $(ip netns exec dn nft -t list chain inet kipvs forward 2>/dev/null) == *"ct state invalid drop"* ]]
}
for ((i = 0; i < 200; i++)); do forward_has_drop && break; sleep 0.3; done
forward_has_drop || { cat /tmp/dn.log; fail "the daemon did not install its table"; }
h=$(ip netns exec dn nft -a list chain inet kipvs forward | sed -n 's/.*ct state invalid drop # handle \([0-9]*\)$/\1/p')
ip netns exec dn nft delete rule inet kipvs forward handle "$h" || fail "delete rule by handle"
# The next verification comes within --ipvs-sync-period (2 s); allow for a loaded guest.
for ((i = 0; i < 100; i++)); do forward_has_drop && break; sleep 0.3; done
forward_has_drop || { cat /tmp/dn.log; fail "the daemon did not put the forward drop back"; }
kill "$dn_pid"
wait "$dn_pid" || true
grep -q '^level=warn component=fw msg="nftables table drifted from what kipvs installs; reinstalling it" table=kipvs drift="chain forward rule missing: ct state invalid drop"$' /tmp/dn.log ||
    { cat /tmp/dn.log; fail "no warn line from the daemon naming the drift"; }
ip netns del dn

step "a set element deleted by hand is put back at once, without waiting for a verification"
netns_add dm
ip netns exec dm "$kipvs" run --from /tmp/a.json --hostname-override node-a \
    --cluster-cidr 10.244.0.0/16 --ipvs-sync-period 1h -v 1 >/tmp/dm.log 2>&1 &
dm_pid=$!
vip_held() { [[ $(ip netns exec dm nft list set inet kipvs vip4 2>/dev/null) == *10.96.0.10* ]]; }
for ((i = 0; i < 200; i++)); do vip_held && break; sleep 0.3; done
vip_held || { cat /tmp/dm.log; fail "the daemon did not fill its vip4 set"; }
sleep 1 # the first sync's own notifications are drained
ip netns exec dm nft delete element inet kipvs vip4 '{ 10.96.0.10 }' || fail "delete element"
# The next periodic verification is an hour away: only the monitor can bring it back.
for ((i = 0; i < 100; i++)); do vip_held && break; sleep 0.3; done
vip_held || { cat /tmp/dm.log; fail "the element was not put back (monitor)"; }
grep -q 'msg="nftables table changed by someone else; reading it back"' /tmp/dm.log ||
    { cat /tmp/dm.log; fail "no log line for the foreign change"; }
n_seen=$(grep -c 'msg="nftables table changed by someone else' /tmp/dm.log)
sleep 2 # kipvs's own repair must not wake the monitor again
expect_eq "the repair did not count as a foreign change" \
    "$(grep -c 'msg="nftables table changed by someone else' /tmp/dm.log)" "$n_seen"
kill "$dm_pid"
wait "$dm_pid" || true
ip netns del dm

step "remove deletes only kipvs's table; a second remove is a no-op"
d remove || fail "remove failed"
ip netns exec t nft list table inet kipvs >/dev/null 2>&1 && fail "table inet kipvs survived"
expect_eq "foreign table untouched" "$(ip netns exec t nft -a list table ip other)" "$other_before"
d remove || fail "second remove failed"
echo "PASS: fw table created once, synced by element diffs with stable handles, repaired, replaced on config change, removed alone"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The reconciler against the real kernel (runs in the guest): a sync from empty, the same sync
# again changes nothing and keeps the counters, a foreign service survives, a weight 0 left by a
# killed run is restored, a virtual server deleted behind kipvs's back is recreated, and a
# weight change (one SET_DEST) keeps a live TCP connection and its counters.
# usage: ipvs_reconcile.sh [IPVS_DRIVER] (default: $KIPVS_BUILD_DIR/test/integration/ipvs_driver)
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

driver=${1:-$KIPVS_BUILD_DIR/test/integration/ipvs_driver}
vip=10.96.0.10
ipvs_load

step "pods pod-a 10.244.1.2, pod-b 10.244.2.2, client 10.0.0.2; VIP $vip on a dummy"
netns_pod pod-a 10.244.1.2/24 10.244.1.1
netns_pod pod-b 10.244.2.2/24 10.244.2.1
netns_pod client 10.0.0.2/24 10.0.0.1
serve_http pod-a 8080 pod-a
serve_http pod-b 8080 pod-b
wait_tcp client 10.244.1.2 8080
wait_tcp client 10.244.2.2 8080
dummy_addr "" kipvs0 "$vip/32"
dummy_addr "" kipvs0 "10.96.0.11/32"

d1="-A -t $vip:80 -s rr
-a -t $vip:80 -r 10.244.1.2:8080 -m -w 1
-a -t $vip:80 -r 10.244.2.2:8080 -m -w 1
-A -u 10.96.0.11:53 -s rr
-a -u 10.96.0.11:53 -r 10.244.1.2:53 -m -w 1"

# sync: runs the driver's reconciler on stdin; prints its output.
sync() { "$driver" sync "$@"; }
summary() { grep '^sync:' <<<"$1" | sed 's/, took .*//'; }

step "sync from empty"
out=$(sync <<<"$d1")
echo "$out"
expect_eq "first sync" "$(summary "$out")" \
    "sync: services +2 ~0 -0, destinations +3 ~0 -0, failed 0, repaired 0, verified 1"
expect_eq "kernel" "$(ipvsadm -Sn | sort)" "$(sort <<<"$d1")"

step "traffic through the VIP"
for i in 1 2 3 4; do http_get client "http://$vip/" >/dev/null; done
# The kernel folds its per-CPU counters into the reported ones every 2 s.
sleep 3
before=$("$driver" dump --stats)
echo "$before"

step "the same sync again (a restart): zero changes, counters kept"
out=$(sync <<<"$d1")
expect_eq "second sync" "$(summary "$out")" \
    "sync: services +0 ~0 -0, destinations +0 ~0 -0, failed 0, repaired 0, verified 1"
expect_eq "counters unchanged" "$("$driver" dump --stats)" "$before"

step "a foreign service added with ipvsadm survives"
ipvsadm -A -t 10.50.0.1:80 -s wrr
ipvsadm -a -t 10.50.0.1:80 -r 10.50.0.9:80 -g -w 5
out=$(sync <<<"$d1")
expect_eq "sync with a foreign service" "$(summary "$out")" \
    "sync: services +0 ~0 -0, destinations +0 ~0 -0, failed 0, repaired 0, verified 1"
expect_line "foreign service" "$(ipvsadm -Sn)" "-A -t 10.50.0.1:80 -s wrr"
expect_line "foreign destination" "$(ipvsadm -Sn)" "-a -t 10.50.0.1:80 -r 10.50.0.9:80 -g -w 5"

step "a weight 0 left behind by a killed run is restored"
ipvsadm -e -t "$vip:80" -r 10.244.1.2:8080 -m -w 0
out=$(sync <<<"$d1")
expect_eq "restore" "$(summary "$out")" \
    "sync: services +0 ~0 -0, destinations +0 ~1 -0, failed 0, repaired 0, verified 1"
expect_line "weight back to 1" "$(ipvsadm -Sn)" "-a -t $vip:80 -r 10.244.1.2:8080 -m -w 1"

step "a virtual server deleted behind kipvs's back is recreated"
ipvsadm -D -u 10.96.0.11:53
out=$(sync <<<"$d1")
expect_eq "recreate" "$(summary "$out")" \
    "sync: services +1 ~0 -0, destinations +1 ~0 -0, failed 0, repaired 0, verified 1"
expect_eq "kernel" "$(ipvsadm -Sn | grep -v 10.50.0 | sort)" "$(sort <<<"$d1")"

step "within one run: a desired table without the UDP service deletes it (it is owned)"
out=$(sync <<<"$d1
---
$(head -3 <<<"$d1")")
echo "$out"
expect_line "second table" "$(summary "$out")" \
    "sync: services +0 ~0 -1, destinations +0 ~0 -0, failed 0, repaired 0, verified 0"
ipvsadm -Sn | grep -q 10.96.0.11 && fail "UDP service not deleted"
expect_line "foreign service still there" "$(ipvsadm -Sn)" "-A -t 10.50.0.1:80 -s wrr"

step "a live TCP connection through the VIP survives a weight change (one SET_DEST each)"
rm -f /tmp/go /tmp/resp
ip netns exec client bash -c 'exec 3<>"/dev/tcp/$0/80" || exit 1
    while [ ! -e /tmp/go ]; do sleep 0.2; done
    printf "GET / HTTP/1.0\r\n\r\n" >&3
    cat <&3 >/tmp/resp' "$vip" &
holder=$!
for ((i = 0; i < 50; i++)); do
    "$driver" dump --stats | grep -q "active=1" && break
    sleep 0.2
done
sleep 3
before=$("$driver" dump --stats)
echo "$before"
grep -q "active=1" <<<"$before" || fail "the long-lived connection is not active in IPVS"
owner=$(grep -B1 "active=1" <<<"$before" | sed -n 's/^-a .* -r \([0-9.]*\):8080 .*/\1/p')
[ -n "$owner" ] || fail "cannot tell which real server holds the connection"
total_before=$(grep -A1 -- "-r $owner:8080" <<<"$before" | sed -n 's/.* total=\([0-9]*\).*/\1/p')
d2=$(sed "s/-r \(10.244.[12].2:8080\) -m -w 1/-r \1 -m -w 5/" <<<"$(head -3 <<<"$d1")")
out=$(sync <<<"$d2")
expect_eq "weights 1 -> 5" "$(summary "$out")" \
    "sync: services +0 ~0 -0, destinations +0 ~2 -0, failed 0, repaired 0, verified 1"
after=$("$driver" dump --stats)
echo "$after"
expect_line "weight set" "$after" "-a -t $vip:80 -r $owner:8080 -m -w 5"
grep -A1 -- "-r $owner:8080" <<<"$after" | grep -q "active=1" || fail "connection entry gone"
total_after=$(grep -A1 -- "-r $owner:8080" <<<"$after" | sed -n 's/.* total=\([0-9]*\).*/\1/p')
expect_eq "connection counter kept" "$total_after" "$total_before"
touch /tmp/go
wait "$holder" || fail "the long-lived connection broke"
grep -q "^pod-" /tmp/resp || fail "no answer on the long-lived connection: $(cat /tmp/resp)"
echo "answer on the old connection: $(grep '^pod-' /tmp/resp)"
echo "ok ipvs_reconcile"

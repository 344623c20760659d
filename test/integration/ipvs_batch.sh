#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Batching against the real kernel (runs in the guest, in a fresh network namespace): thousands
# of operations go in one sendmsg, a batch split by a smaller limit gives the same table, an
# error in the middle of a batch lands on its own operation, one ACK per message gives one
# sendmsg per message, and lost replies (a tiny receive buffer) are reported, never hang.
# usage: ipvs_batch.sh [IPVS_DRIVER] (default: $KIPVS_BUILD_DIR/test/integration/ipvs_driver)
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

driver=${1:-$KIPVS_BUILD_DIR/test/integration/ipvs_driver}
ipvs_load
netns_add t
netns_add u
d() { ip netns exec t "$driver" "$@"; }

# rules N: N TCP services 10.96.x.y:80, each with two real servers.
rules() {
    local i
    for ((i = 0; i < $1; i++)); do
        echo "-A -t 10.96.$((i / 250)).$((i % 250 + 1)):80 -s rr"
        echo "-a -t 10.96.$((i / 250)).$((i % 250 + 1)):80 -r 10.244.0.1:8080 -m -w 1"
        echo "-a -t 10.96.$((i / 250)).$((i % 250 + 1)):80 -r 10.244.0.2:8080 -m -w 1"
    done
}
rules 1500 >/tmp/rules

step "4500 operations, one sendmsg"
out=$(d apply --quiet </tmp/rules)
echo "$out"
expect_line "apply" "$out" "failed=0"
expect_line "one sendmsg" "$out" "counters sendmsg=1 messages=4500 lost_replies=0"
expect_eq "services in the kernel" "$(ip netns exec t ipvsadm -Sn | grep -c '^-A')" 1500
expect_eq "destinations in the kernel" "$(ip netns exec t ipvsadm -Sn | grep -c '^-a')" 3000

step "the same with 16 KiB batches, in another namespace: many sendmsg, the same table"
out=$(ip netns exec u "$driver" apply --quiet --batch-limit 16384 </tmp/rules)
echo "$out"
expect_line "apply" "$out" "failed=0"
sendmsg=$(sed -n 's/^counters sendmsg=\([0-9]*\) .*/\1/p' <<<"$out")
[ "$sendmsg" -ge 30 ] || fail "16 KiB batches: $sendmsg sendmsg, want at least 30"
expect_eq "same table" "$(ip netns exec u ipvsadm -Sn | sort | md5sum)" \
    "$(ip netns exec t ipvsadm -Sn | sort | md5sum)"

step "errors in the middle and at the end of a batch land on their own operation"
out=$(d apply <<'EOT'
-A -t 10.200.0.1:80 -s rr
-A -t 10.96.0.1:80 -s rr
-a -t 10.200.0.1:80 -r 10.244.0.1:80 -m -w 1
-e -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 5
-a -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 1
EOT
)
echo "$out"
expect_line "first" "$out" "0 -A -t 10.200.0.1:80 -s rr"
expect_line "middle" "$out" "EEXIST -A -t 10.96.0.1:80 -s rr"
expect_line "after the error" "$out" "0 -a -t 10.200.0.1:80 -r 10.244.0.1:80 -m -w 1"
expect_line "set" "$out" "0 -e -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 5"
expect_line "last (the one with the ACK)" "$out" "EEXIST -a -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 1"
expect_line "one sendmsg" "$out" "counters sendmsg=1 messages=5 lost_replies=0"

step "one ACK per message: one sendmsg per message"
out=$(d apply --ack-each <<'EOT'
-e -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 1
-e -t 10.96.0.2:80 -r 10.244.0.1:8080 -m -w 1
-e -t 10.96.0.3:80 -r 10.244.0.1:8080 -m -w 1
EOT
)
expect_line "ack each" "$out" "counters sendmsg=3 messages=3 lost_replies=0"

step "1500 failing operations into a tiny receive buffer: replies lost, reported, no hang"
out=$(grep '^-A' /tmp/rules | timeout 60 ip netns exec t "$driver" apply --quiet --rcvbuf 4096) ||
    fail "apply with a tiny receive buffer: exit $?"
echo "$out" | tail -3
expect_line "apply says replies were lost" "$out" "apply r=ENOBUFS"
grep -q '^counters .* lost_replies=[1-9]' <<<"$out" || fail "lost_replies not counted"
echo "ok ipvs_batch"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# UDP conntrack cleanup at scale (runs in the guest): 100 000 conntrack entries in a fresh
# namespace, made over ctnetlink by ct_fill, of which 31 000 are stale for the set given to one
# ipvs_conntrack_udp_flush() (through fw_driver conntrack-flush): a gone UDP VIP (every entry
# to it), a changed one (the entries whose reply source is not the kept real server) and a gone
# IPv6 VIP (the second family's dump). The flush must delete exactly those: the kept real
# server's entries, another port, TCP to a stale VIP and VIPs not in the set all stay, counted
# group by group before and after; the kernel sends the dump only the 90 000 UDP entries
# (CTA_FILTER, Linux 5.8+: the guest's kernel has it). Prints the flush's time and the process's
# peak RSS.
# usage: fw_conntrack_scale.sh [FW_DRIVER [CT_FILL]]
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

driver=${1:-$KIPVS_BUILD_DIR/test/integration/fw_driver}
fill=${2:-$KIPVS_BUILD_DIR/test/integration/ct_fill}
[ -x "$driver" ] || fail "no fw_driver at '$driver'"
[ -x "$fill" ] || fail "no ct_fill at '$fill'"

step "conntrack with room for 100 000 entries"
modprobe nf_conntrack_netlink || fail "modprobe nf_conntrack_netlink"
[ -e /proc/sys/net/netfilter/nf_conntrack_max ] || fail "no nf_conntrack sysctls"
echo 131072 >/sys/module/nf_conntrack/parameters/hashsize || fail "conntrack hashsize"
echo 262144 >/proc/sys/net/netfilter/nf_conntrack_max || fail "nf_conntrack_max"
netns_add ct

# Group: PROTO DST:DPORT REPLY_SRC:RPORT, with its size and its fate in the flush below.
groups=(
    "udp 10.96.1.1:53 10.244.1.1:5353"        # 20000 gone VIP: deleted
    "udp 10.96.1.2:53 10.244.2.1:5353"        # 20000 changed VIP, kept real server: stays
    "udp 10.96.1.2:53 10.244.2.2:5353"        # 10000 changed VIP, removed real server: deleted
    "udp 10.96.1.2:54 10.244.2.2:5353"        # 10000 the changed VIP's other port: stays
    "tcp 10.96.1.1:53 10.244.1.1:5353"        # 10000 TCP to the gone VIP: stays
    "udp 10.96.1.3:53 10.244.3.1:5353"        # 28000 a VIP not in the set: stays
    "udp [fd00:96::1]:53 [fd00:244::1]:5353"  #  1000 gone IPv6 VIP: deleted
    "udp [fd00:96::2]:53 [fd00:244::1]:5353"  #  1000 an IPv6 VIP not in the set: stays
)
sizes=(20000 20000 10000 10000 10000 28000 1000 1000)
srcs=(172.16.0.1 172.17.0.1 172.18.0.1 172.19.0.1 172.20.0.1 172.21.0.1 fd00:16::1 fd00:17::1)
after=(0 20000 0 10000 10000 28000 0 1000)

add_args=() count_args=()
for i in "${!groups[@]}"; do
    ((i == 0)) || { add_args+=(,); count_args+=(,); }
    read -r -a g <<<"${groups[$i]}"
    add_args+=("${g[@]}" "${sizes[$i]}" "${srcs[$i]}")
    count_args+=("${g[@]}")
done
counts() { ip netns exec ct "$fill" count "${count_args[@]}" | paste -sd' '; }

step "ct_fill: 100 000 entries"
ip netns exec ct "$fill" add "${add_args[@]}" || fail "ct_fill add"
expect_eq "entries before, by group" "$(counts)" "${sizes[*]} total=100000"

step "one flush: two stale IPv4 UDP VIPs and one IPv6"
flush=(10.96.1.1 53 , 10.96.1.2 53 10.244.2.1:5353 , fd00:96::1 53)
out=$(ip netns exec ct /usr/bin/time -f 'time: elapsed_s=%e max_rss_kb=%M' \
    "$driver" conntrack-flush "${flush[@]}" 2>/tmp/flush.err) || { cat /tmp/flush.err; fail "flush"; }
cat /tmp/flush.err
expect_eq "flush result" "$out" "deleted=31000"
grep -q " scanned=90000 matched=31000 deleted=31000 " /tmp/flush.err ||
    fail "the flush did not get each UDP entry once (the kernel filters out TCP) and match the stale ones"

step "exactly the stale entries are gone"
expect_eq "entries after, by group" "$(counts)" "${after[*]} total=69000"

step "a second flush finds nothing"
out=$(ip netns exec ct "$driver" conntrack-flush "${flush[@]}" 2>/tmp/flush2.err) ||
    { cat /tmp/flush2.err; fail "second flush"; }
expect_eq "second flush" "$out" "deleted=0"
expect_eq "entries after the second flush" "$(counts)" "${after[*]} total=69000"
echo "PASS: one flush over 100 000 conntrack entries deleted exactly the 31 000 stale ones"

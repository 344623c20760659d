#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The test bed works (runs in the guest): the kernel loads IPVS, a virtual server with a real
# server is created with ipvsadm, and `ipvsadm -Sn` dumps both back.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

step "kernel $(uname -r): modprobe ip_vs"
ipvs_load
grep -q '^ip_vs ' /proc/modules || fail "ip_vs is not in /proc/modules"

step "create a TCP virtual server and a NAT real server"
ipvsadm -A -t 10.96.0.1:443 -s rr
ipvsadm -a -t 10.96.0.1:443 -r 10.244.0.5:6443 -m -w 1
ipvsadm -A -u 10.96.0.10:53 -s wrr

step "dump it"
dump=$(ipvsadm -Sn)
echo "$dump"
expect_line "ipvsadm -Sn" "$dump" "-A -t 10.96.0.1:443 -s rr"
expect_line "ipvsadm -Sn" "$dump" "-a -t 10.96.0.1:443 -r 10.244.0.5:6443 -m -w 1"
expect_line "ipvsadm -Sn" "$dump" "-A -u 10.96.0.10:53 -s wrr"
expect_eq "lines in ipvsadm -Sn" "$(wc -l <<<"$dump")" 3

step "clear it"
ipvsadm -C
expect_eq "ipvsadm -Sn after -C" "$(ipvsadm -Sn)" ""
echo "ok ipvs_bed"

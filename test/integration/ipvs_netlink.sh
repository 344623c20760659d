#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# kipvs's netlink client against the real kernel (runs in the guest, in a fresh network
# namespace): IPv4 and IPv6 virtual servers over TCP, UDP and SCTP with persistence, SET of
# service and destination attributes, the kernel's EEXIST/ESRCH/ENOENT per operation, GET_INFO,
# the timeouts, and dumps checked against `ipvsadm -Sn`.
# usage: ipvs_netlink.sh [IPVS_DRIVER] (default: $KIPVS_BUILD_DIR/test/integration/ipvs_driver)
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

driver=${1:-$KIPVS_BUILD_DIR/test/integration/ipvs_driver}
ipvs_load
modprobe ip_vs_sh && modprobe ip_vs_wrr && modprobe ip_vs_lc || fail "scheduler modules"
netns_add t
d() { ip netns exec t "$driver" "$@"; }

step "GET_INFO and the timeouts"
info=$(d info)
echo "$info"
expect_line "info" "$info" "version=1.2.1 conn_tab_size=4096"
out=$(d timeouts 901 121 301)
expect_line "timeouts after SET_CONFIG" "$out" "timeouts tcp=901 tcpfin=121 udp=301"
expect_eq "ipvsadm sees the timeouts" "$(ip netns exec t ipvsadm -L --timeout)" \
    "Timeout (tcp tcpfin udp): 901 121 301"
out=$(d timeouts 0 0 55)
expect_line "only udp changed" "$out" "timeouts tcp=901 tcpfin=121 udp=55"

step "create: IPv4/IPv6 x TCP/UDP/SCTP, persistence, several schedulers, weights"
table='-A -t 10.96.0.1:443 -s rr
-a -t 10.96.0.1:443 -r 10.244.0.5:6443 -m -w 1
-a -t 10.96.0.1:443 -r 10.244.1.5:6443 -m -w 0
-A -u 10.96.0.10:53 -s wrr
-a -u 10.96.0.10:53 -r 10.244.0.9:53 -m -w 3
-A --sctp-service 10.96.0.20:3868 -s sh
-a --sctp-service 10.96.0.20:3868 -r 10.244.0.7:3868 -m -w 1
-A -t [fd00:96::1]:80 -s rr -p 10800
-a -t [fd00:96::1]:80 -r [fd00:244::5]:8080 -m -w 1
-A -u [fd00:96::a]:53 -s lc
-a -u [fd00:96::a]:53 -r [fd00:244::9]:53 -m -w 2
-A --sctp-service [fd00:96::14]:3868 -s rr -p 60'
out=$(d apply <<<"$table")
echo "$out"
expect_line "apply" "$out" "failed=0"
expect_line "apply in one sendmsg" "$out" "counters sendmsg=1 messages=12 lost_replies=0"
want=$(sort <<<"$table")
expect_eq "ipvsadm -Sn after create" "$(ip netns exec t ipvsadm -Sn | sort)" "$want"
expect_eq "our netlink dump" "$(d dump | sort)" "$want"
expect_eq "our netlink+procfs dump" "$(d dump --procfs | sort)" "$want"
expect_eq "the root namespace is untouched" "$(ipvsadm -Sn)" ""

step "SET_SERVICE (scheduler, persistence on and off) and SET_DEST (weight)"
out=$(d apply <<'EOT'
-E -t 10.96.0.1:443 -s lc -p 600
-E -t [fd00:96::1]:80 -s wrr
-e -u 10.96.0.10:53 -r 10.244.0.9:53 -m -w 7
-e -t 10.96.0.1:443 -r 10.244.1.5:6443 -m -w 1
EOT
)
expect_line "set" "$out" "failed=0"
sn=$(ip netns exec t ipvsadm -Sn)
echo "$sn"
expect_line "scheduler and persistence" "$sn" "-A -t 10.96.0.1:443 -s lc -p 600"
expect_line "persistence off" "$sn" "-A -t [fd00:96::1]:80 -s wrr"
expect_line "weight 7" "$sn" "-a -u 10.96.0.10:53 -r 10.244.0.9:53 -m -w 7"
expect_line "weight 0 -> 1" "$sn" "-a -t 10.96.0.1:443 -r 10.244.1.5:6443 -m -w 1"

step "the kernel's errno per operation, in one batch"
out=$(d apply <<'EOT'
-A -t 10.96.0.1:443 -s rr
-a -t 10.96.0.1:443 -r 10.244.0.5:6443 -m -w 1
-e -t 10.96.0.99:80 -r 10.244.0.5:80 -m -w 1
-a -t 10.96.0.99:80 -r 10.244.0.5:80 -m -w 1
-e -t 10.96.0.1:443 -r 10.244.9.9:6443 -m -w 1
-d -t 10.96.0.1:443 -r 10.244.9.9:6443
-D -t 10.96.0.99:80
-A -t 10.96.0.2:80 -s nosuchsched
-A -t 10.96.0.3:80 -s rr
EOT
)
echo "$out"
expect_line "NEW_SERVICE on an existing one" "$out" "EEXIST -A -t 10.96.0.1:443 -s rr"
expect_line "NEW_DEST on an existing one" "$out" "EEXIST -a -t 10.96.0.1:443 -r 10.244.0.5:6443 -m -w 1"
expect_line "SET_DEST in a missing service" "$out" "ESRCH -e -t 10.96.0.99:80 -r 10.244.0.5:80 -m -w 1"
expect_line "NEW_DEST in a missing service" "$out" "ESRCH -a -t 10.96.0.99:80 -r 10.244.0.5:80 -m -w 1"
expect_line "SET_DEST of a missing destination" "$out" "ENOENT -e -t 10.96.0.1:443 -r 10.244.9.9:6443 -m -w 1"
expect_line "DEL_DEST of a missing destination" "$out" "ENOENT -d -t 10.96.0.1:443 -r 10.244.9.9:6443"
expect_line "DEL_SERVICE of a missing service" "$out" "ESRCH -D -t 10.96.0.99:80"
expect_line "unknown scheduler" "$out" "ENOENT -A -t 10.96.0.2:80 -s nosuchsched"
expect_line "the last one still ran" "$out" "failed=8"
expect_line "one sendmsg for all of it" "$out" "counters sendmsg=1 messages=9 lost_replies=0"
ip netns exec t ipvsadm -Sn | grep -qxF -- "-A -t 10.96.0.3:80 -s rr" || fail "10.96.0.3:80 missing"

step "delete: a destination, then services (their destinations go with them)"
out=$(d apply <<'EOT'
-d -t 10.96.0.1:443 -r 10.244.1.5:6443
-D -u [fd00:96::a]:53
-D --sctp-service 10.96.0.20:3868
-D -t 10.96.0.3:80
EOT
)
expect_line "delete" "$out" "failed=0"
sn=$(ip netns exec t ipvsadm -Sn)
echo "$sn"
grep -q "10.244.1.5" <<<"$sn" && fail "deleted destination still there"
grep -q "fd00:96::a\]" <<<"$sn" && fail "deleted IPv6 UDP service still there"
expect_eq "services left" "$(grep -c '^-A' <<<"$sn")" 4
expect_eq "our dump agrees" "$(d dump | sort)" "$(sort <<<"$sn")"
echo "ok ipvs_netlink"

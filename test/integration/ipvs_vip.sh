#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# VIP binding against the real kernel (runs in the guest, in fresh network namespaces): the dummy
# interface is created NOARP and up, holds each address as /32 or /128, later syncs send only
# the differences, a pre-existing interface is used but never deleted, and one kipvs created is.
# usage: ipvs_vip.sh [IPVS_DRIVER] (default: $KIPVS_BUILD_DIR/test/integration/ipvs_driver)
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

driver=${1:-$KIPVS_BUILD_DIR/test/integration/ipvs_driver}
netns_add t
d() { ip netns exec t "$driver" "$@"; }

step "first sync creates kube-ipvs0 and binds an IPv4 and an IPv6 address"
out=$(d vip kube-ipvs0 10.96.0.1 fd00:96::1)
echo "$out"
expect_line "created" "$out" "vip: created=1 bound_before=0"
expect_line "bound" "$out" "vip: addresses +2 -0, bound=2 err=0"
link=$(ip -n t -d link show kube-ipvs0)
echo "$link"
grep -q "NOARP" <<<"$link" || fail "kube-ipvs0 is not NOARP"
grep -q ",UP" <<<"$link" || fail "kube-ipvs0 is not up"
grep -q "dummy" <<<"$link" || fail "kube-ipvs0 is not a dummy"
addrs=$(ip -n t addr show dev kube-ipvs0)
echo "$addrs"
grep -q "inet 10.96.0.1/32" <<<"$addrs" || fail "10.96.0.1/32 missing"
grep -q "inet6 fd00:96::1/128" <<<"$addrs" || fail "fd00:96::1/128 missing"
grep "fd00:96::1" <<<"$addrs" | grep -q tentative && fail "IPv6 address still tentative (DAD)"

step "the same set again: the interface exists, nothing changes"
out=$(d vip kube-ipvs0 10.96.0.1 fd00:96::1)
expect_line "existing" "$out" "vip: created=0 bound_before=2"
expect_line "no change" "$out" "vip: addresses +0 -0, bound=2 err=0"

step "a new set: bind one, unbind the others"
out=$(d vip kube-ipvs0 10.96.0.1 10.96.0.2)
expect_line "delta" "$out" "vip: addresses +1 -1, bound=2 err=0"
addrs=$(ip -n t addr show dev kube-ipvs0)
grep -q "inet 10.96.0.2/32" <<<"$addrs" || fail "10.96.0.2/32 missing"
grep -q "fd00:96::1" <<<"$addrs" && fail "fd00:96::1 still bound"

step "300 addresses go in batches; each failed one is its own (IPv6 off on the interface)"
many=()
for i in $(seq 1 250); do many+=("10.97.$((i / 200)).$((i % 200 + 1))"); done
for i in $(seq 1 50); do many+=("fd00:97::$i"); done
ip netns exec t sysctl -qw net.ipv6.conf.kube-ipvs0.disable_ipv6=1
out=$(d vip kube-ipvs0 "${many[@]}" 2>&1) && fail "the IPv6 binds did not fail"
echo "$out"
expect_line "v4 bound past every batch boundary, v6 refused" "$out" \
    "vip: addresses +250 -2, bound=250 err=EACCES"
[ "$(ip -n t -4 addr show dev kube-ipvs0 | grep -c 'inet 10.97.')" = 250 ] ||
    fail "not every IPv4 address of the batches is bound"
ip netns exec t sysctl -qw net.ipv6.conf.kube-ipvs0.disable_ipv6=0
out=$(d vip kube-ipvs0 10.96.0.1 10.96.0.2)
expect_line "back to two" "$out" "vip: addresses +2 -250, bound=2 err=0"

step "a VIP on the dummy is local (packets to it enter IPVS at LOCAL_IN)"
route=$(ip -n t route get 10.96.0.2)
echo "$route"
grep -q "^local 10.96.0.2 " <<<"$route" || fail "10.96.0.2 is not a local address"

step "an interface that kipvs did not create is used, and never deleted"
netns_add u
ip -n u link add kube-ipvs0 type dummy
out=$(ip netns exec u "$driver" vip kube-ipvs0 --remove-link 10.96.0.9)
echo "$out"
expect_line "not created" "$out" "vip: created=0 bound_before=0"
expect_line "remove-link is a no-op" "$out" "vip: remove-link err=0"
ip -n u link show kube-ipvs0 >/dev/null || fail "a foreign kube-ipvs0 was deleted"
grep -q NOARP <<<"$(ip -n u link show kube-ipvs0)" || fail "existing kube-ipvs0 not set NOARP"

step "one kipvs created is deleted on request"
netns_add w
out=$(ip netns exec w "$driver" vip kube-ipvs0 --remove-link 10.96.0.9)
expect_line "created and removed" "$out" "vip: remove-link err=0"
ip -n w link show kube-ipvs0 >/dev/null 2>&1 && fail "kube-ipvs0 not deleted"
echo "ok ipvs_vip"

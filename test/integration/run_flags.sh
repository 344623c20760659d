#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: the kernel-side flags of `kipvs run` reach the kernel, each seen
# through `kipvs run --once` in a fresh network namespace (S1's ClusterIP 10.0.162.149:80):
#   - --ipvs-tcp-timeout, --ipvs-tcpfin-timeout, --ipvs-udp-timeout: `ipvsadm -L --timeout`;
#   - --dummy-interface: the ClusterIP is bound there, and no kube-ipvs0 is made;
#   - --ipvs-strict-arp: arp_ignore 1 and arp_announce 2;
#   - --ipvs-exclude-cidrs: a virtual server kipvs made survives a sync that no longer wants it
#     while its address is in an excluded range, and goes at the next sync without the flag;
#   - a ClusterIP without endpoints refuses connections (IPVS answers port unreachable) rather
#     than dropping them.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

kipvs=${KIPVS_BUILD_DIR:-}/cmd/kipvs
src=${KIPVS_SOURCE_DIR:-$(dirname "$(readlink -f "$0")")/../..}
[ -x "$kipvs" ] || fail "no kipvs binary at '$kipvs'"
ipvs_load
s1=$src/test/fixtures/scenarios/s01-clusterip-basic.json
vs="-A -t 10.0.162.149:80 -s rr"
# The same objects without the Service's EndpointSlices, and without the Service at all.
python3 -S - "$s1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for name, drop in (("no-eps", {"EndpointSlice"}), ("no-svc", {"EndpointSlice", "Service"})):
    out = dict(doc, items=[i for i in doc["items"] if i["kind"] not in drop])
    json.dump(out, open("/tmp/s01-%s.json" % name, "w"))
PY

# once NS ARGS...: `kipvs run --once --hostname-override node-a ARGS` in NS; fails the job on a
# non-zero exit.
once() {
    local ns=$1 out
    shift
    out=$(ip netns exec "$ns" "$kipvs" run --once --hostname-override node-a "$@" 2>&1) ||
        { echo "$out"; fail "kipvs run --once $* in $ns"; }
    echo "$out" | tail -n 1
}

step "timeouts, --dummy-interface and --ipvs-strict-arp"
netns_add n1
once n1 --from "$s1" --ipvs-tcp-timeout 1234s --ipvs-tcpfin-timeout 56s --ipvs-udp-timeout 78s \
    --dummy-interface kipvs9 --ipvs-strict-arp
expect_eq "ipvsadm -L --timeout" "$(ip netns exec n1 ipvsadm -L --timeout)" \
    "Timeout (tcp tcpfin udp): 1234 56 78"
ip -n n1 -o addr show dev kipvs9 | grep -q " 10.0.162.149/32 " ||
    fail "10.0.162.149 not on kipvs9: $(ip -n n1 -o addr show)"
! ip -n n1 link show kube-ipvs0 >/dev/null 2>&1 || fail "kube-ipvs0 made despite --dummy-interface"
expect_eq "arp_ignore" "$(ip netns exec n1 cat /proc/sys/net/ipv4/conf/all/arp_ignore)" 1
expect_eq "arp_announce" "$(ip netns exec n1 cat /proc/sys/net/ipv4/conf/all/arp_announce)" 2
ip netns exec n1 "$kipvs" cleanup --dummy-interface kipvs9 2>&1 || fail "cleanup in n1"
! ip -n n1 link show kipvs9 >/dev/null 2>&1 || fail "kipvs9 left after cleanup"

step "--ipvs-exclude-cidrs keeps a virtual server in its range from deletion"
netns_add n2
once n2 --from "$s1"
ip netns exec n2 ipvsadm -Sn | grep -qxF -- "$vs" || fail "S1's virtual server missing"
once n2 --from /tmp/s01-no-svc.json --ipvs-exclude-cidrs 10.0.162.0/24
ip netns exec n2 ipvsadm -Sn | grep -qxF -- "$vs" || fail "deleted though in an excluded range"
once n2 --from /tmp/s01-no-svc.json
! ip netns exec n2 ipvsadm -Sn | grep -qxF -- "$vs" || fail "not deleted once no longer excluded"

step "a ClusterIP without endpoints refuses connections"
netns_add n3
once n3 --from /tmp/s01-no-eps.json
ip netns exec n3 ipvsadm -Sn | grep -qxF -- "$vs" || fail "S1's virtual server missing"
rc=0
out=$(ip netns exec n3 curl -sS --connect-timeout 3 --max-time 5 http://10.0.162.149/ 2>&1) || rc=$?
echo "curl: exit=$rc $out"
expect_eq "curl exit status (7: refused, 28: dropped)" "$rc" 7
echo "PASS: timeouts, dummy interface, strict ARP, exclude CIDRs and the refusal without endpoints, through kipvs run"

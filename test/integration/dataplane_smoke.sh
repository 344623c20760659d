#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Data-plane smoke test (runs in the guest): two pod namespaces answer with their own names
# through an IPVS NAT virtual server on a VIP bound to a dummy interface. A client namespace sees
# both answers in round-robin; after one real server's weight goes to 0, it sees only the other.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

vip=10.96.0.10
ipvs_load

step "pods pod-a 10.244.1.2, pod-b 10.244.2.2, client 10.0.0.2; the root namespace routes"
netns_pod pod-a 10.244.1.2/24 10.244.1.1
netns_pod pod-b 10.244.2.2/24 10.244.2.1
netns_pod client 10.0.0.2/24 10.0.0.1
serve_http pod-a 8080 pod-a
serve_http pod-b 8080 pod-b
wait_tcp client 10.244.1.2 8080
wait_tcp client 10.244.2.2 8080
expect_eq "pod-a directly" "$(http_get client http://10.244.1.2:8080/)" pod-a
expect_eq "pod-b directly" "$(http_get client http://10.244.2.2:8080/)" pod-b

step "VIP $vip on dummy kipvs0; NAT virtual server $vip:80, round-robin, both pods weight 1"
dummy_addr "" kipvs0 "$vip/32"
ipvsadm -A -t "$vip:80" -s rr
ipvsadm -a -t "$vip:80" -r 10.244.1.2:8080 -m -w 1
ipvsadm -a -t "$vip:80" -r 10.244.2.2:8080 -m -w 1
ipvsadm -Ln

# fetch N: N answers from the VIP, space-separated, each a new connection.
fetch() {
    local i answers=()
    for ((i = 0; i < $1; i++)); do
        answers+=("$(http_get client "http://$vip/")")
    done
    echo "${answers[*]}"
}

step "the client sees both pods, alternating"
got=$(fetch 4)
echo "answers: $got"
case $got in
"pod-a pod-b pod-a pod-b" | "pod-b pod-a pod-b pod-a") ;;
*) fail "round-robin over pod-a and pod-b: got '$got'" ;;
esac

step "pod-a weight 0: the client sees only pod-b"
ipvsadm -e -t "$vip:80" -r 10.244.1.2:8080 -m -w 0
ipvsadm -Ln
got=$(fetch 4)
echo "answers: $got"
expect_eq "answers with pod-a at weight 0" "$got" "pod-b pod-b pod-b pod-b"

ipvsadm -Ln --stats
echo "ok dataplane_smoke"

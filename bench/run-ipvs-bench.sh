#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The IPVS programming benchmark, run as root in the test guest:
#   test/vm/run-in-guest --timeout 900 bench/run-ipvs-bench.sh [BUILD_DIR]
# Programs 10 000 services x 10 destinations from empty, each time in a fresh network namespace,
# with (a) `ipvsadm -R`, (b) the kernel floor (bench/ipvs_bench_floor.c: the same messages,
# batched, nothing else) and the same one ACK per message, and kipvs's reconciler batched and one
# ACK per message; then compares the two ways of reading the whole table back.
set -euo pipefail
build=${1:-${KIPVS_BUILD_DIR:-$(dirname "$0")/../build}}
modprobe ip_vs
ipvsadm -C
"$build/bench/ipvs_bench" rules >/tmp/rules
echo "table: $(grep -c '^-A' /tmp/rules) services, $(grep -c '^-a' /tmp/rules) destinations"
"$build/bench/ipvs_bench" diff

n=0
# A fresh namespace with lo up (without it the local table is missing and the kernel refuses
# NAT real servers as "not unicast").
fresh() { n=$((n + 1)); ip netns add "b$n"; ip -n "b$n" link set lo up; echo "b$n"; }
run() { local ns; ns=$(fresh); ip netns exec "$ns" "$@"; ip netns del "$ns"; }

for round in 1 2; do
    echo "--- round $round"
    ns=$(fresh)
    s=$(date +%s%N)
    ip netns exec "$ns" ipvsadm -R </tmp/rules
    echo "ipvsadm -R: $(( ($(date +%s%N) - s) / 1000000 )) ms"
    ip netns del "$ns"
    run "$build/bench/ipvs_bench_floor"
    run "$build/bench/ipvs_bench_floor" --ack-each
    ns=$(fresh)
    ip netns exec "$ns" "$build/bench/ipvs_bench" sync
    ip netns exec "$ns" "$build/bench/ipvs_bench" read
    ip netns del "$ns"
    run "$build/bench/ipvs_bench" sync-ack-each
done

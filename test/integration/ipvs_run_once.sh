#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: for every scenario of test/fixtures/scenarios, in a fresh network
# namespace, `kipvs run --from F --once` must exit 0 with the fixed summary line, `ipvsadm -Sn`
# must then hold the same set of lines as `kipvs plan --from F`, `kipvs plan --diff` must print
# nothing, and `kipvs cleanup` must leave the namespace as it found it (no service, no
# kube-ipvs0). Each namespace has its own state file: the instances never see each other.
# Usage: ipvs_run_once.sh [PATH-TO-KIPVS [SCENARIO-DIR]]
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

kipvs=${1:-${KIPVS_BUILD_DIR:-}/cmd/kipvs}
dir=${2:-${KIPVS_SOURCE_DIR:-}/test/fixtures/scenarios}
[ -x "$kipvs" ] || fail "no kipvs binary at '$kipvs'"
[ -d "$dir" ] || fail "no scenario directory at '$dir'"
ipvs_load
grammar='^sync: services \+[0-9]+ ~[0-9]+ -[0-9]+, destinations \+[0-9]+ ~[0-9]+ -[0-9]+, addresses \+[0-9]+ -[0-9]+, draining [0-9]+, took [0-9]+ ms$'
n=0
for args_file in "$dir"/*.args; do
    stem=${args_file%.args}
    name=$(basename "$stem")
    json=$dir/$(basename "$stem" | cut -d. -f1).json
    read -r -a args <<<"$(grep -v '^#' "$args_file" | tr '\n' ' ')"
    step "$name"
    plan=$("$kipvs" plan --from "$json" "${args[@]}" 2>/dev/null) || fail "$name: kipvs plan failed"
    ns=ro-$n
    netns_add "$ns"
    ip netns exec "$ns" "$kipvs" run --from "$json" "${args[@]}" --once 2>"/tmp/$ns.err" ||
        { cat "/tmp/$ns.err"; fail "$name: kipvs run --once failed"; }
    line=$(grep '^sync:' "/tmp/$ns.err")
    [[ "$line" =~ $grammar ]] || { cat "/tmp/$ns.err"; fail "$name: summary '$line' breaks the grammar"; }
    got=$(ip netns exec "$ns" ipvsadm -Sn | sort)
    want=$(sort <<<"$plan")
    if [ "$got" != "$want" ]; then
        diff <(echo "$want") <(echo "$got") || true
        fail "$name: ipvsadm -Sn differs from the plan"
    fi
    diffout=$(ip netns exec "$ns" "$kipvs" plan --from "$json" "${args[@]}" --diff 2>/dev/null) ||
        fail "$name: plan --diff failed"
    expect_eq "$name: plan --diff after the sync" "$diffout" ""
    ip netns exec "$ns" "$kipvs" cleanup 2>"/tmp/$ns.err" || { cat "/tmp/$ns.err"; fail "$name: cleanup failed"; }
    expect_eq "$name: after cleanup" "$(ip netns exec "$ns" ipvsadm -Sn)" ""
    if ip -n "$ns" link show kube-ipvs0 >/dev/null 2>&1; then
        fail "$name: kube-ipvs0 survived cleanup"
    fi
    ip netns del "$ns"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no scenario in $dir"
echo "PASS: $n scenarios synced with run --once, read back as planned, cleaned up"

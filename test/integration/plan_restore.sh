#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: for every scenario of test/fixtures/scenarios, `kipvs plan ... |
# ipvsadm -R` in a fresh network namespace, then `ipvsadm -Sn` must print the same set of lines
# as the plan (ipvsadm sorts its own way, so the lines are compared sorted). This proves the
# plan's text is exactly ipvsadm's syntax, IPv6, SCTP and persistence included.
# Usage: plan_restore.sh [PATH-TO-KIPVS [SCENARIO-DIR]]
#   (defaults: $KIPVS_BUILD_DIR/cmd/kipvs and $KIPVS_SOURCE_DIR/test/fixtures/scenarios)
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/scenario_lib.sh"

scenario_begin "$@"
n=0
for args_file in "$dir"/*.args; do
    scenario_case "$args_file"
    step "$name"
    plan=$("$kipvs" plan --from "$json" "${args[@]}" 2>/dev/null) || fail "$name: kipvs plan failed"
    [ -n "$plan" ] || fail "$name: empty plan"
    ns=pr-$n
    netns_add "$ns"
    ip netns exec "$ns" ipvsadm -R <<<"$plan" || fail "$name: ipvsadm -R refused the plan:
$plan"
    scenario_same_table "$name" "$plan" "$ns"
    ip netns del "$ns"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no scenario in $dir"
echo "PASS: $n plans restored and read back identically"

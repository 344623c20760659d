#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: `kipvs plan` and `kipvs run --once` give the same table for every
# scenario of test/fixtures/scenarios and each of its .args files. `kipvs plan --from NAME.json
# ARGS`, then `kipvs run --once --from NAME.json ARGS` in a fresh network namespace whose
# interface node0 holds this node's addresses (the Node object's InternalIP and ExternalIP ones,
# and the --node-ip ones): with --nodeport-addresses, run selects among the kernel's addresses
# and plan among the Node object's, which then agree. `ipvsadm -Sn` must print the plan's lines
# (both sorted). Every args file is common to both commands: none uses a plan-only flag.
# Last, run reads the kernel and not the Node object: on a namespace holding one Node address,
# one other address and IPv6 link-local only, `--nodeport-addresses 0.0.0.0/0,::/0` programs
# NodePorts on exactly the first two (as `plan --node-ip` with those two does).
# Usage: plan_run_parity.sh [PATH-TO-KIPVS [SCENARIO-DIR]]
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/scenario_lib.sh"

scenario_begin "$@"
scenario_node_batches "$dir" /tmp/batches

n=0 n_cidrs=0
for args_file in "$dir"/*.args; do
    scenario_case "$args_file"
    step "$name"
    [[ " ${args[*]} " =~ \ --nodeport-addresses[=\ ][^\ ]*/ ]] && n_cidrs=$((n_cidrs + 1))
    plan=$("$kipvs" plan --from "$json" "${args[@]}" 2>/dev/null) || fail "$name: kipvs plan failed"
    ns=pp-$n
    scenario_netns "$ns" "/tmp/batches/$name.ip"
    ip netns exec "$ns" "$kipvs" run --once --from "$json" "${args[@]}" 2>"/tmp/$ns.err" ||
        { cat "/tmp/$ns.err"; fail "$name: kipvs run --once failed"; }
    scenario_same_table "$name: run --once" "$plan" "$ns"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no scenario in $dir"
# Without CIDRs the loop would not compare the kernel's selection with the Node object's.
[ "$n_cidrs" -ge 2 ] || fail "only $n_cidrs scenarios give --nodeport-addresses CIDRs, want 2 or more"

step "run: --nodeport-addresses selects among the kernel's addresses, not the Node object's"
json=$dir/x02-node-addresses.json
printf '%s\n' "link add node0 type dummy" "link set node0 up" \
    "address add 10.240.0.7/32 dev node0" "address add 172.31.255.1/32 dev node0" >/tmp/kernel.ip
scenario_netns pp-kernel /tmp/kernel.ip
# The link-local address the selection must leave out is there.
[ -n "$(ip -n pp-kernel -6 address show dev node0 scope link)" ] ||
    fail "node0 has no IPv6 link-local address"
ip netns exec pp-kernel "$kipvs" run --once --from "$json" --hostname-override node-multi \
    --nodeport-addresses 0.0.0.0/0,::/0 2>/tmp/kernel.err ||
    { cat /tmp/kernel.err; fail "kipvs run --once failed"; }
plan=$("$kipvs" plan --from "$json" --hostname-override node-multi \
    --node-ip 10.240.0.7,172.31.255.1 2>/dev/null) || fail "kipvs plan failed"
scenario_same_table "run --once on the kernel's addresses" "$plan" pp-kernel
echo "PASS: $n scenarios ($n_cidrs with --nodeport-addresses CIDRs): run --once programmed the table plan prints; run selects among the kernel's addresses"

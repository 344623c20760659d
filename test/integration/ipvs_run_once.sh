#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: for every scenario of test/fixtures/scenarios, in a fresh network
# namespace holding the node's addresses (scenario_lib.sh), `kipvs run --from F --once` must
# exit 0 with the fixed summary line, `ipvsadm -Sn` must then hold the same set of lines as
# `kipvs plan --from F`, `kipvs plan --diff` must print nothing, and `kipvs cleanup` must leave
# the namespace as it found it (no service, no kube-ipvs0). Each namespace has its own state
# file: the instances never see each other.
# The packet path comes with the sync: after `run --once` the cluster_ip4/6 sets of table inet
# kipvs hold exactly the plan's ClusterIP virtual servers, and `kipvs cleanup` deletes the table.
# Last, `run --once` exits 1 and logs why when an nftables transaction fails: a foreign process
# holds `table inet kipvs` with `flags owner` (only it may change that table), first a table of
# its own (kipvs's base transaction fails: IPVS is left alone), then a copy of kipvs's own table
# (kept by its fingerprint, so the element transaction fails: IPVS is synced all the same).
# Usage: ipvs_run_once.sh [PATH-TO-KIPVS [SCENARIO-DIR]]
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"
. "$(dirname "$(readlink -f "$0")")/scenario_lib.sh"

scenario_begin "$@"
# Each namespace holds its node's addresses, which run takes with --nodeport-addresses.
scenario_node_batches "$dir" /tmp/batches
# Each scenario's ClusterIPs (every family), one python run for all: /tmp/cips/<json name>.
mkdir -p /tmp/cips
python3 -S - "$dir" <<'PY'
import glob, json, os, sys
for path in glob.glob(os.path.join(sys.argv[1], "*.json")):
    ips = set()
    for it in json.load(open(path)).get("items", []):
        if it.get("kind") == "Service":
            spec = it.get("spec", {})
            for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
                if ip and ip != "None":
                    ips.add(ip)
    with open("/tmp/cips/" + os.path.basename(path), "w") as out:
        out.write("".join(ip + "\n" for ip in sorted(ips)))
PY
# The cluster_ip elements the plan implies: "addr . proto . port" of each virtual server whose
# address is a ClusterIP; family 4 or 6 ($2). Reads the plan on stdin.
want_cluster_ip() {
    local cips=$1 fam=$2 flag addr port proto
    sed -n 's/^-A \(-t\|-u\|--sctp-service\) \[\{0,1\}\([^ ]*[^]]\)\]\{0,1\}:\([0-9]*\) .*/\1 \2 \3/p' |
        while read -r flag addr port; do
            case $flag in -t) proto=tcp ;; -u) proto=udp ;; *) proto=sctp ;; esac
            grep -qxF -- "$addr" "$cips" || continue
            if { [ "$fam" = 6 ] && [[ $addr == *:* ]]; } ||
                { [ "$fam" = 4 ] && [[ $addr != *:* ]]; }; then
                echo "$addr . $proto . $port"
            fi
        done | sort
}
# The elements of set $2 in `nft list table` output $1, one per line, sorted (one nft exec per
# scenario for both families: each exec costs about a second under TCG).
set_elements_in() {
    tr -s ' \n\t' ' ' <<<"$1" |
        sed -n "s/.* set $2 { [^}]*elements = { *\([^}]*\)}.*/\1/p" |
        tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -v '^$' | sort
}
grammar='^sync: services \+[0-9]+ ~[0-9]+ -[0-9]+, destinations \+[0-9]+ ~[0-9]+ -[0-9]+, addresses \+[0-9]+ -[0-9]+, draining [0-9]+, took [0-9]+ ms$'
n=0
for args_file in "$dir"/*.args; do
    scenario_case "$args_file"
    step "$name"
    plan=$("$kipvs" plan --from "$json" "${args[@]}" 2>/dev/null) || fail "$name: kipvs plan failed"
    ns=ro-$n
    scenario_netns "$ns" "/tmp/batches/$name.ip"
    ip netns exec "$ns" "$kipvs" run --from "$json" "${args[@]}" --once 2>"/tmp/$ns.err" ||
        { cat "/tmp/$ns.err"; fail "$name: kipvs run --once failed"; }
    line=$(grep '^sync:' "/tmp/$ns.err")
    [[ "$line" =~ $grammar ]] || { cat "/tmp/$ns.err"; fail "$name: summary '$line' breaks the grammar"; }
    scenario_same_table "$name" "$plan" "$ns"
    diffout=$(ip netns exec "$ns" "$kipvs" plan --from "$json" "${args[@]}" --diff 2>/dev/null) ||
        fail "$name: plan --diff failed"
    expect_eq "$name: plan --diff after the sync" "$diffout" ""
    # The packet path: the same sync wrote the ClusterIP elements.
    table=$(ip netns exec "$ns" nft list table inet kipvs) || fail "$name: no table inet kipvs after run --once"
    for fam in 4 6; do
        expect_eq "$name: cluster_ip$fam after run --once" \
            "$(set_elements_in "$table" cluster_ip$fam)" \
            "$(want_cluster_ip "/tmp/cips/$(basename "$json")" $fam <<<"$plan")"
    done
    ip netns exec "$ns" "$kipvs" cleanup 2>"/tmp/$ns.err" || { cat "/tmp/$ns.err"; fail "$name: cleanup failed"; }
    expect_eq "$name: after cleanup" "$(ip netns exec "$ns" ipvsadm -Sn)" ""
    if ip -n "$ns" link show kube-ipvs0 >/dev/null 2>&1; then
        fail "$name: kube-ipvs0 survived cleanup"
    fi
    expect_eq "$name: nftables tables after cleanup" "$(ip netns exec "$ns" nft list tables)" ""
    ip netns del "$ns"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no scenario in $dir"

# own_table NS FILE: a foreign process (nft -i) creates `table inet kipvs` from FILE with
# `flags owner`, so that only it can change or delete that table, and holds it until
# own_release; kipvs's nftables transactions on it then fail with EPERM.
own_table() {
    rm -f /tmp/own.fifo
    mkfifo /tmp/own.fifo
    ip netns exec "$1" nft -i </tmp/own.fifo >/tmp/own.out 2>&1 &
    own_pid=$!
    exec 9>/tmp/own.fifo
    echo "include \"$2\"" >&9
    for ((i = 0; i < 50; i++)); do
        # (no pipe into grep -q under pipefail: nft would die of SIGPIPE)
        [[ $(ip netns exec "$1" nft -t list table inet kipvs 2>/dev/null) == *"flags owner"* ]] && return 0
        sleep 0.2
    done
    cat /tmp/own.out
    fail "the foreign process did not create its owned table"
}
own_release() {
    exec 9>&-
    wait "$own_pid" || true
}
json=$dir/s01-clusterip-basic.json
args=(--hostname-override node-a)
plan=$("$kipvs" plan --from "$json" "${args[@]}" 2>/dev/null) || fail "kipvs plan failed"

step "run --once, the nftables base transaction fails (a foreign owner holds table inet kipvs): exit 1, logged, IPVS left alone"
netns_add own
printf 'table inet kipvs {\n\tflags owner\n\tchain c {\n\t}\n}\n' >/tmp/own.nft
own_table own /tmp/own.nft
ip netns exec own "$kipvs" run --from "$json" "${args[@]}" --once 2>/tmp/own.err && rc=0 || rc=$?
cat /tmp/own.err
expect_eq "run --once exit status" "$rc" 1
grep -q '^level=warn component=fw msg="nftables base table failed; IPVS left unsynced" detail=".*Operation not permitted.*" err="Operation not permitted"' /tmp/own.err ||
    fail "no warn line for the failed base transaction"
expect_line "the reason" "$(cat /tmp/own.err)" "kipvs run: sync failed: Operation not permitted"
expect_eq "IPVS left alone" "$(ip netns exec own ipvsadm -Sn)" ""
own_release

step "run --once, the element transaction fails (the owner holds kipvs's own table): exit 1, logged, IPVS synced"
# kipvs's own table (same fingerprint, so kipvs keeps it) from a first run, then nothing.
ip netns exec own "$kipvs" run --from "$json" "${args[@]}" --once 2>/tmp/own.err ||
    { cat /tmp/own.err; fail "run --once failed with no foreign table"; }
ip netns exec own nft list table inet kipvs | sed '1a\	flags owner' >/tmp/own.nft
ip netns exec own "$kipvs" cleanup 2>/dev/null || fail "cleanup"
expect_eq "IPVS after cleanup" "$(ip netns exec own ipvsadm -Sn)" ""
own_table own /tmp/own.nft
ip netns exec own "$kipvs" run --from "$json" "${args[@]}" --once 2>/tmp/own.err && rc=0 || rc=$?
cat /tmp/own.err
expect_eq "run --once exit status" "$rc" 1
grep -q '^level=warn component=fw msg="nftables element adds failed" detail=".*Operation not permitted.*"' /tmp/own.err ||
    fail "no warn line for the failed element transaction"
expect_line "the reason" "$(cat /tmp/own.err)" \
    "kipvs run: the kernel does not match the plan after the sync (IPVS or the nftables packet path; see the failures above)"
expect_eq "IPVS synced all the same" "$(ip netns exec own ipvsadm -Sn | sort)" "$(sort <<<"$plan")"
own_release
ip netns exec own "$kipvs" cleanup 2>/dev/null || fail "cleanup after the owner left"
ip netns del own
echo "PASS: $n scenarios synced with run --once (IPVS and the ClusterIP set elements), read back as planned, cleaned up; a failed nftables transaction (base or elements) makes run --once exit 1"

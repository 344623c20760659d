#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Golden-file test of `kipvs plan` on the reference scenarios (test/fixtures/scenarios).
# For each NAME[.VARIANT].args: runs `kipvs plan --from NAME.json ARGS` (ARGS are the .args
# lines that are not # comments), requires exit 0, stdout equal to NAME[.VARIANT].plan (written
# by hand from the rules in docs/plan.md), and each line of NAME[.VARIANT].stderr, when present,
# to occur in exactly one line of stderr (one report per object). Also checks the command's
# usage errors.
# Usage: test_plan_golden.sh PATH-TO-KIPVS SCENARIO-DIR
kipvs=$1
dir=$2
failed=0
count=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

for args_file in "$dir"/*.args; do
    stem=${args_file%.args}
    case_name=$(basename "$stem")
    json=$(dirname "$stem")/$(basename "$stem" | cut -d. -f1).json
    args=$(grep -v '^#' "$args_file" | tr '\n' ' ')
    count=$((count + 1))
    if [ ! -f "$stem.plan" ] || [ ! -f "$json" ]; then
        echo "FAIL $case_name: missing $stem.plan or $json"
        failed=1
        continue
    fi
    # shellcheck disable=SC2086 # args are whitespace-separated flags by design
    "$kipvs" plan --from "$json" $args >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAIL $case_name: exit $rc; stderr:"
        sed 's/^/    /' "$tmp/err"
        failed=1
        continue
    fi
    if ! cmp -s "$tmp/out" "$stem.plan"; then
        echo "FAIL $case_name: stdout differs from $(basename "$stem").plan:"
        diff -u "$stem.plan" "$tmp/out" | sed 's/^/    /'
        failed=1
        continue
    fi
    if [ -f "$stem.stderr" ]; then
        missing=0
        while IFS= read -r want; do
            [ -z "$want" ] && continue
            got=$(grep -cF -- "$want" "$tmp/err")
            if [ "$got" -ne 1 ]; then
                echo "FAIL $case_name: stderr has $got lines with '$want', want one; stderr:"
                sed 's/^/    /' "$tmp/err"
                missing=1
                break
            fi
        done <"$stem.stderr"
        if [ "$missing" -ne 0 ]; then
            failed=1
            continue
        fi
    fi
    echo "ok   $case_name"
done
if [ "$count" -eq 0 ]; then
    echo "FAIL no scenario found in $dir"
    failed=1
fi

check() { # name expected-exit expected-substring(stderr) args...
    name=$1 want_rc=$2 want_text=$3
    shift 3
    "$kipvs" plan "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        echo "FAIL $name: exit $rc, want $want_rc; stderr: $(cat "$tmp/err")"
        failed=1
    elif ! grep -qF -- "$want_text" "$tmp/err"; then
        echo "FAIL $name: stderr lacks '$want_text': $(cat "$tmp/err")"
        failed=1
    elif [ -s "$tmp/out" ]; then
        echo "FAIL $name: printed on stdout: $(cat "$tmp/out")"
        failed=1
    else
        echo "ok   $name"
    fi
}

s1="$dir/s01-clusterip-basic.json"
check "unknown option exits 2"     2 "unknown option '--frob'"   --from "$s1" --frob
check "bad --node-ip exits 2"      2 "--node-ip"                 --from "$s1" --node-ip 10.0.0.300
check "bad CIDR exits 2"           2 "--nodeport-addresses"      --from "$s1" --nodeport-addresses 10.0.0.0/40
check "bare address is no CIDR"    2 "--nodeport-addresses"      --from "$s1" --nodeport-addresses 10.0.0.1
check "bad scheduler name exits 2" 2 "--ipvs-scheduler"         --from "$s1" --ipvs-scheduler 'r r'
check "bad --sync-timeout exits 2" 2 "--sync-timeout"            --from "$s1" --sync-timeout -3
check "missing value exits 2"      2 "needs a value"             --from
check "stray argument exits 2"     2 "unexpected argument"       --from "$s1" extra
check "--from and --kubeconfig"    2 "exclude each other"        --from "$s1" --kubeconfig /dev/null
check "unreadable source exits 1"  1 "kipvs plan"                --from "$tmp/no-such-file.json" --hostname-override node-a
# No Service has a nodePort: the missing Node costs nothing, so nothing is warned about it.
if ! "$kipvs" plan --from "$s1" --hostname-override node-gone >"$tmp/out" 2>"$tmp/err"; then
    echo "FAIL no nodePort, no Node: exit status $?; stderr: $(cat "$tmp/err")"
    failed=1
elif grep -q "no node address" "$tmp/err"; then
    echo "FAIL no nodePort, no Node: warned about the node address: $(cat "$tmp/err")"
    failed=1
else
    echo "ok   no nodePort, no Node: no node-address warning"
fi
exit $failed

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The options through the kipvs binary: `kipvs plan --config` with a real kube-proxy config
# prints the same table as the equivalent flags, warnings go to stderr, and invalid values
# exit 2 with one line naming the flag or field.
# Usage: test_options_cli.sh PATH-TO-KIPVS FIXTURES-DIR
kipvs=$1 fixtures=$2
s1=$fixtures/scenarios/s02-multiport-nodeport.json
cfg=$fixtures/config
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() { echo "FAIL $*"; failed=1; }

# name expected-exit expected-stderr-substring args... (of `kipvs plan`, or of `kipvs $sub`)
sub=plan
check() {
    name=$1 want_rc=$2 want_text=$3
    shift 3
    "$kipvs" "$sub" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        fail "$name: exit $rc, want $want_rc; stderr: $(cat "$tmp/err")"
    elif ! grep -qF -- "$want_text" "$tmp/err"; then
        fail "$name: stderr lacks '$want_text': $(cat "$tmp/err")"
    else
        echo "ok   $name"
    fi
}

# The kubeadm config (scheduler wrr) and its flags give the same plan.
"$kipvs" plan --from "$s1" --hostname-override node-a --ipvs-scheduler wrr >"$tmp/flags" 2>/dev/null ||
    fail "plan with flags failed"
"$kipvs" plan --config "$cfg/kubeadm-ipvs.yaml" --from "$s1" --hostname-override node-a \
    >"$tmp/file" 2>"$tmp/file.err" || fail "plan --config failed: $(cat "$tmp/file.err")"
if ! grep -q -- "-s wrr" "$tmp/file"; then
    fail "--config: the file's scheduler is not used: $(cat "$tmp/file")"
elif ! cmp -s "$tmp/flags" "$tmp/file"; then
    fail "--config and its flags print different plans"
elif grep -q "level=warn component=config" "$tmp/file.err"; then
    fail "--config kubeadm-ipvs.yaml warned: $(cat "$tmp/file.err")"
else
    echo "ok   --config equals its flags"
fi

# A flag overrides the file.
"$kipvs" plan --config "$cfg/kubeadm-ipvs.yaml" --from "$s1" --hostname-override node-a \
    --ipvs-scheduler sh >"$tmp/over" 2>/dev/null
if grep -q -- "-s sh" "$tmp/over" && ! grep -q -- "-s wrr" "$tmp/over"; then
    echo "ok   a flag overrides the file"
else
    fail "a flag does not override the file: $(cat "$tmp/over")"
fi

# nodePortAddresses: [primary] in the file is the primary rule, as --nodeport-addresses primary:
# per family the Node's first InternalIP only (the golden x02-node-addresses.primary.plan).
printf 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nnodePortAddresses: [primary]\n' >"$tmp/primary.yaml"
"$kipvs" plan --config "$tmp/primary.yaml" --from "$fixtures/scenarios/x02-node-addresses.json" \
    --hostname-override node-multi >"$tmp/primary" 2>"$tmp/primary.err" ||
    fail "plan --config primary.yaml failed: $(cat "$tmp/primary.err")"
if cmp -s "$tmp/primary" "$fixtures/scenarios/x02-node-addresses.primary.plan"; then
    echo "ok   nodePortAddresses: [primary] is the primary rule"
else
    fail "nodePortAddresses: [primary]: $(diff "$fixtures/scenarios/x02-node-addresses.primary.plan" "$tmp/primary")"
fi

# --write-config-to output: the plan is printed, each unused field warned on stderr once.
check "unused fields warned"     0 "field=conntrack.maxPerCore"  --config "$cfg/kube-proxy-defaults.yaml" --from "$s1" --hostname-override node-a
n=$(grep -c "field=conntrack.maxPerCore" "$tmp/err")
[ "$n" -eq 1 ] || fail "conntrack.maxPerCore warned $n times"
grep -q "field=mode value=iptables" "$tmp/err" || fail "mode iptables not warned"
[ -s "$tmp/out" ] || fail "no plan printed with warnings"

printf 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs:\n  scheduler: a/b\n' >"$tmp/bad.yaml"
check "invalid field exits 2"    2 "kipvs: invalid value \"a/b\" for ipvs.scheduler in $tmp/bad.yaml" --config "$tmp/bad.yaml" --from "$s1"
check "invalid field hints"      2 "Try 'kipvs plan --help'."     --config "$tmp/bad.yaml" --from "$s1"
check "missing file exits 2"     2 "for --config"                 --config "$tmp/none.yaml" --from "$s1"
check "invalid flag exits 2"     2 "kipvs: invalid value \"5x\" for --sync-timeout: not a duration" --from "$s1" --sync-timeout 5 --sync-timeout 5x
check "run-only flag exits 2"    2 "applies to kipvs run"         --from "$s1" --ipvs-sync-period 5s
# `kipvs run` refuses the same way, before it touches anything (no root needed to see it).
sub=run
check "run: invalid flag exits 2"  2 "kipvs: invalid value \"0s\" for --ipvs-sync-period: must be greater than 0" --ipvs-sync-period 0s
check "run: invalid field exits 2" 2 "for ipvs.scheduler in $tmp/bad.yaml" --config "$tmp/bad.yaml"
check "run: hint"                  2 "Try 'kipvs run --help'."      --config "$tmp/bad.yaml"
check "run: plan-only flag"        2 "applies to kipvs plan"        --diff
sub=plan
"$kipvs" plan --help >"$tmp/help" 2>&1
if grep -q -- "--config FILE" "$tmp/help" && ! grep -q -- "--ipvs-sync-period" "$tmp/help"; then
    echo "ok   plan --help lists its flags only"
else
    fail "plan --help: $(cat "$tmp/help")"
fi
exit $failed

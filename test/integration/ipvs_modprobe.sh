#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest, which boots without ip_vs: `kipvs run --once` loads ip_vs itself
# (the kernel loads the scheduler's module when kipvs's probe names it) and programs the table;
# when it cannot, its one line names what is missing (modprobe failing, modprobe absent).
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

kipvs=${1:-${KIPVS_BUILD_DIR:-}/cmd/kipvs}
dir=${KIPVS_SOURCE_DIR:-}/test/fixtures/scenarios
[ -x "$kipvs" ] || fail "no kipvs binary at '$kipvs'"
json=$dir/s09-named-ports.json # scheduler wlc (its .args)
[ -f "$json" ] || fail "no scenario at '$json'"
args=(--hostname-override minikube --ipvs-scheduler wlc)
real_modprobe=$(command -v modprobe) || fail "no modprobe in the guest"
work=$(mktemp -d /tmp/mp.XXXXXX)

# run_expect_fail NAME PATH WANT: kipvs run --once with PATH must exit 1 with line WANT.
run_expect_fail() {
    local rc=0
    PATH=$2 "$kipvs" run --from "$json" "${args[@]}" --once 2>"$work/err" || rc=$?
    expect_eq "$1: exit status" "$rc" 1
    expect_eq "$1: message" "$(cat "$work/err")" "$3"
}
not_loaded() {
    [ ! -e /proc/net/ip_vs ] || fail "$1: /proc/net/ip_vs exists"
    [ ! -d /sys/module/ip_vs ] || fail "$1: the ip_vs module is loaded"
}

step "the fresh guest has no IPVS"
not_loaded "at boot"

step "modprobe fails: the message says so"
mkdir "$work/fail"
printf '#!/bin/sh\nexit 1\n' >"$work/fail/modprobe"
chmod +x "$work/fail/modprobe"
run_expect_fail "modprobe fails" "$work/fail:/usr/bin:/bin" \
    "kipvs run: IPVS is not available: /proc/net/ip_vs is missing and \`modprobe ip_vs\` failed; the kernel needs CONFIG_IP_VS or the ip_vs module"
not_loaded "after the failed modprobe"

step "no modprobe on PATH: the message says so"
mkdir "$work/empty"
run_expect_fail "no modprobe" "$work/empty" \
    "kipvs run: IPVS is not available: /proc/net/ip_vs is missing and \`modprobe ip_vs\` could not run: No such file or directory; the kernel needs CONFIG_IP_VS or the ip_vs module"
not_loaded "without modprobe"

step "kipvs loads ip_vs only: the kernel loads ip_vs_wlc when the probe names the scheduler"
# A modprobe that refuses every scheduler module: kipvs must not need its own modprobe of one.
mkdir "$work/nosched"
printf '#!/bin/sh\nfor a; do case "$a" in ip_vs_*) exit 1;; esac; done\nexec %s "$@"\n' \
    "$real_modprobe" >"$work/nosched/modprobe"
chmod +x "$work/nosched/modprobe"
PATH=$work/nosched:/usr/sbin:/sbin:/usr/bin:/bin \
    "$kipvs" run --from "$json" "${args[@]}" --once 2>"$work/err" || { cat "$work/err"; fail "run --once"; }
[ -e /proc/net/ip_vs ] || fail "/proc/net/ip_vs missing after the run"
[ -d /sys/module/ip_vs_wlc ] || fail "ip_vs_wlc not loaded"
grep -q 'msg="loaded IPVS" modules=ip_vs$' "$work/err" ||
    { cat "$work/err"; fail "no 'loaded IPVS' line"; }
plan=$("$kipvs" plan --from "$json" "${args[@]}" 2>/dev/null) || fail "kipvs plan"
[ -n "$plan" ] || fail "the plan is empty"
expect_eq "kernel = plan" "$(ipvsadm -Sn | sort)" "$(sort <<<"$plan")"
"$kipvs" cleanup 2>"$work/err" || { cat "$work/err"; fail "cleanup"; }
echo "PASS"

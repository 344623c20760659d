#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The end-to-end scale benchmark (issue 12), run as root in the test guest, in one boot:
#   test/vm/run-in-guest --mem 4096 --timeout 5400 bench/run-scale-bench.sh [MODE]
# MODE: `S D FAMILY` (default 10000 10 4; FAMILY 4, 6 or dual) measures one table; `growth` the
# kipvs --from cold start at S = 5 000, 10 000, 20 000 (x 10, IPv4); `all` measures 10000 x 10
# IPv4, the growth, then IPv6 and dual-stack at 10 000 x 10 (KIPVS_BENCH_PROGRAMS_V6, default
# floor once from api); `rest` is `all` without the IPv4 table;
# `smoke` (the meson test bench_smoke) runs every program on 50 x 3 dual-stack and asserts only
# that each one produced the identical full table.
#
# For one table (bench/scale_gen.py writes it as Kubernetes objects, `ipvsadm -R` rules and a
# keepalived configuration; bench/ipvs_bench_floor sends the same messages), each program runs
# in a fresh network namespace under bench/scale_probe, which times it from its start until the
# kernel table is complete (the same check for all) and reads its CPU from its own cgroup:
#   floor      the bare netlink messages, 64 per sendmsg (bench/ipvs_bench_floor.c)
#   ipvsadm    ipvsadm -R
#   keepalived keepalived 2.2.7 -C from the configuration (real servers without checkers)
#   once       kipvs run --once --from DIR (until it exits)
#   from       kipvs run --from DIR (until the table is complete and it logged msg=ready, which
#              it does once the addresses and the nftables sets are written too)
#   api        kipvs run against test/fake-apiserver serving the same objects (same namespace)
# After each, `ipvsadm -Sn` (sorted) must equal the rules: a program that programmed another
# table fails the run. The two daemons then get three endpoint flips (a file rename / a watch
# event; event-to-kernel wall time and kipvs's CPU from /proc/PID/schedstat), 90 s idle with the
# default --ipvs-sync-period 30s (/metrics not scraped; one scrape's cost apart) and their RSS.
# KIPVS_BENCH_PROGRAMS narrows the programs (default: all six); KIPVS_BENCH_IDLE the idle seconds;
# KIPVS_BENCH_PHASES=1 runs the daemons at -v 1 and prints their syncs' phase lines at the end
# of each (a profile of the cold start, the flips and the idle verifications; it adds logging).
. "$(dirname "$(readlink -f "$0")")/../test/vm/lib.sh"

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
src=$(cd "$here/.." && pwd)
build=${KIPVS_BUILD_DIR:-$src/build}
KIPVS=$build/cmd/kipvs
PROBE=$build/bench/scale_probe
FLOOR=$build/bench/ipvs_bench_floor
programs=${KIPVS_BENCH_PROGRAMS:-floor ipvsadm keepalived once from api}
idle_s=${KIPVS_BENCH_IDLE:-90}
daemon_args=()
[ "${KIPVS_BENCH_PHASES:-0}" = 1 ] && daemon_args=(-v 1)
for f in "$KIPVS" "$PROBE" "$FLOOR"; do [ -x "$f" ] || fail "not built: $f (ninja -C $build)"; done
command -v keepalived >/dev/null || fail "no keepalived: apt-get install keepalived (scripts/packages.txt)"
ipvs_load
# The cgroup hierarchy again outside /sys: `ip netns exec` mounts a fresh /sys without it.
CG=/tmp/bench-cgroup
mkdir -p $CG
mount -t cgroup2 cgroup2 $CG || fail "cannot mount cgroup2 at $CG"

declare -A R=() # results: KEY -> value
mismatch=0

# ns_fresh NAME: a fresh namespace with lo up (without lo the kernel refuses NAT real servers).
ns_fresh() {
    ip netns del "$1" 2>/dev/null || true
    netns_add "$1"
}

# ns_done NS CGROUP: end everything in the cgroup, empty IPVS (synchronously: the namespace's
# deferred teardown must not eat the next program's CPU), delete the namespace.
ns_done() {
    local ns=$1 cg=$2
    if [ -d "$cg" ]; then
        echo 1 >"$cg/cgroup.kill"
        for _ in $(seq 100); do [ -s "$cg/cgroup.procs" ] || break; sleep 0.1; done
        rmdir "$cg" 2>/dev/null || true
    fi
    ip netns exec "$ns" ipvsadm -C
    ip netns del "$ns"
    [ "$S" -lt 1000 ] || sleep 1
}

# same_table NAME NS: the namespace's table (sorted) must be the rules, exactly.
same_table() {
    if ip netns exec "$2" ipvsadm -Sn | sort | cmp -s - "$T/rules.sorted"; then
        R[$1.same]=yes
    else
        R[$1.same]=NO
        mismatch=1
        echo "MISMATCH: $1 did not program the benchmark table:"
        ip netns exec "$2" ipvsadm -Sn | sort | diff - "$T/rules.sorted" | head -n 10 || true
    fi
    echo "$1: same table as the rules: ${R[$1.same]}"
}

# probe NAME NS ARGS... -- CMD...: scale_probe run in NS; its figures go into R[NAME.*].
probe() {
    local name=$1 ns=$2 out
    shift 2
    out=$(ip netns exec "$ns" "$PROBE" run --services "$S" --dests "$D" --family "$FAM" \
        --cgroup "$CG/bench-$name" --log "$T/$name.log" "$@") ||
        { echo "$out"; tail -n 20 "$T/$name.log"; fail "$name: did not complete"; }
    echo "$name: $out"
    for kv in $out; do R[$name.${kv%%=*}]=${kv#*=}; done
}

# schedstat PID: its CPU so far in ns.
schedstat() {
    local run _
    read -r run _ <"/proc/$1/schedstat"
    echo "$run"
}

# vips_and_sets NAME NS: the addresses on kube-ipvs0 and the nftables sets vip and cluster_ip
# (per family) hold every VIP. (Not `nft list table`: its hairpin set has one element per real
# server, and listing 100 000 of them takes many minutes under TCG.)
vips_and_sets() {
    local nv n_set want=$((S * NFAM)) fams=4 f set
    [ "$FAM" = 6 ] && fams=6
    [ "$FAM" = dual ] && fams="4 6"
    nv=$(ip -n "$2" -o addr show dev kube-ipvs0 | grep -cE ' (10\.100\.|fd00:100:)' || true)
    echo "$1: kube-ipvs0 holds $nv VIPs (want $want)"
    [ "$nv" = "$want" ] || { R[$1.same]=NO; mismatch=1; }
    for set in vip cluster_ip; do
        n_set=0
        for f in $fams; do
            n_set=$((n_set + $(ip netns exec "$2" nft list set inet kipvs "$set$f" |
                grep -oE '(10\.100\.[0-9]+\.[0-9]+|fd00:100::[0-9a-f:]+)' | sort -u | wc -l)))
        done
        echo "$1: nftables sets $set (families $fams) name $n_set VIPs (want $want)"
        [ "$n_set" = "$want" ] || { R[$1.same]=NO; mismatch=1; }
    done
}

# daemon_phase NAME NS PID FLIP-KIND: flips, idle, scrape, RSS of a running kipvs.
daemon_phase() {
    local name=$1 ns=$2 pid=$3 kind=$4 k v r out sum_cpu=0 sum_wall=0 n=0 c0 c1
    R[$name.rss_first]=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    [ "$S" -lt 1000 ] || sleep 2
    while read -r k v r f; do
        if [ "$kind" = rename ]; then
            out=$(ip netns exec "$ns" "$PROBE" flip --timeout 900 --pid "$pid" --vip "$v" --rs "$r" \
                --rename "$T/flip-$k.json" "$T/from/$f") || fail "$name flip $k: $out"
        else
            out=$(ip netns exec "$ns" "$PROBE" flip --timeout 900 --pid "$pid" --vip "$v" --rs "$r" \
                --post "$CTL" /control/objects "$T/flip-$k-slice.json") || fail "$name flip $k: $out"
        fi
        echo "$name flip $k ($v real server $r -> weight 0): $out"
        for kv in $out; do R[$name.flip$k.${kv%%=*}]=${kv#*=}; done
    done <"$T/flips"
    if [ "$idle_s" -gt 0 ]; then
        c0=$(schedstat "$pid")
        sleep "$idle_s"
        c1=$(schedstat "$pid")
        R[$name.idle_pct]=$(awk -v a="$c0" -v b="$c1" -v s="$idle_s" 'BEGIN { printf "%.2f", (b - a) / 1e9 / s * 100 }')
        echo "$name idle ${idle_s} s: $(((c1 - c0) / 1000000)) ms CPU = ${R[$name.idle_pct]} % of a core"
        c0=$(schedstat "$pid")
        ip netns exec "$ns" curl -sS --max-time 30 -o /dev/null http://127.0.0.1:10249/metrics
        sleep 0.5
        c1=$(schedstat "$pid")
        R[$name.scrape_ms]=$(((c1 - c0) / 1000000))
        echo "$name one /metrics scrape: ${R[$name.scrape_ms]} ms CPU"
    fi
    R[$name.hwm_end]=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
    R[$name.rss_end]=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    echo "$name RSS: VmHWM ${R[$name.hwm_end]} kB (peak), VmRSS ${R[$name.rss_first]} kB after the first sync, ${R[$name.rss_end]} kB at the end"
    if [ ${#daemon_args[@]} -gt 0 ]; then
        echo "$name: its syncs (-v 1):"
        grep -E 'msg="(sync phases|sync:|table checked)' "$T/$name.log" | sed 's/^/  /' || true
    fi
}

# gen S D FAMILY: the table in $T.
gen() {
    S=$1 D=$2 FAM=$3
    NFAM=1
    [ "$FAM" = dual ] && NFAM=2
    T=/tmp/scale-$S-$D-$FAM
    rm -rf "$T"
    local t0=$SECONDS
    /usr/bin/python3 "$here/scale_gen.py" "$S" "$D" "$FAM" "$T"
    sort "$T/rules" >"$T/rules.sorted"
    step "table $S x $D family $FAM: $(grep -c '^-A' "$T/rules") virtual servers," \
        "$(grep -c '^-a' "$T/rules") real servers (written in $((SECONDS - t0)) s)"
}

run_floor() {
    ns_fresh b-floor
    probe floor b-floor --until exit -- "$FLOOR" --per-sendmsg 64 --services "$S" --dests "$D" --family "$FAM"
    cat "$T/floor.log"
    same_table floor b-floor
    ns_done b-floor "$CG/bench-floor"
}

run_ipvsadm() {
    ns_fresh b-ipvsadm
    probe ipvsadm b-ipvsadm --until exit -- ipvsadm -R <"$T/rules"
    same_table ipvsadm b-ipvsadm
    ns_done b-ipvsadm "$CG/bench-ipvsadm"
}

run_keepalived() {
    ns_fresh b-ka
    probe keepalived b-ka --until table -- keepalived --dont-fork --log-console --check \
        --use-file "$T/keepalived.conf" --pid "$T/ka.pid" --checkers_pid "$T/kac.pid"
    same_table keepalived b-ka
    ns_done b-ka "$CG/bench-keepalived"
}

run_once() {
    ns_fresh b-once
    rm -rf /run/kipvs
    probe once b-once --until exit -- "$KIPVS" run --once --from "$T/from" --hostname-override bench-node
    [ "${R[once.exit]}" = 0 ] || { tail -n 20 "$T/once.log"; fail "kipvs run --once exited ${R[once.exit]}"; }
    same_table once b-once
    ns_done b-once "$CG/bench-once"
}

run_from() {
    ns_fresh b-from
    rm -rf /run/kipvs
    probe from b-from --until table --ready -- "$KIPVS" run --from "$T/from" --hostname-override bench-node \
        "${daemon_args[@]}"
    same_table from b-from
    vips_and_sets from b-from
    daemon_phase from b-from "${R[from.pid]}" rename
    ns_done b-from "$CG/bench-from"
}

run_api() {
    local fake=$T/fake t0
    ns_fresh b-api
    rm -rf /run/kipvs
    mkdir -p "$fake"
    t0=$SECONDS
    ip netns exec b-api /usr/bin/python3 "$src/test/fake-apiserver/fake-apiserver" --dir "$fake" \
        --ready-file "$fake/ready.json" --bookmark-interval 60 --load "$T/api/services.json" \
        --load "$T/api/slices.json" --load "$T/api/node.json" >"$fake/out" 2>"$fake/err" &
    local fake_pid=$!
    for _ in $(seq 1800); do
        [ -s "$fake/ready.json" ] && break
        kill -0 "$fake_pid" 2>/dev/null || { cat "$fake/err"; fail "fake API server exited"; }
        sleep 0.2
    done
    [ -s "$fake/ready.json" ] || fail "fake API server not ready after 360 s"
    echo "api: the fake API server loaded the objects in $((SECONDS - t0)) s"
    CTL=$(sed -n 's/.*"control_url": *"http:\/\/\([^"]*\)".*/\1/p' "$fake/ready.json")
    probe api b-api --until table --ready -- "$KIPVS" run --kubeconfig "$fake/kubeconfig-token.yaml" \
        --hostname-override bench-node "${daemon_args[@]}"
    same_table api b-api
    vips_and_sets api b-api
    daemon_phase api b-api "${R[api.pid]}" post
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
    ns_done b-api "$CG/bench-api"
}

# one_table S D FAMILY: every program of $programs on one table.
one_table() {
    gen "$@"
    local p
    for p in $programs; do
        step "$p on $S x $D $FAM"
        "run_$p"
    done
}

# The report: each figure, its ratio, the goal and whether it is met.
line() { printf '%-58s %14s  %s\n' "$1" "$2" "${3:-}"; }
# goal TEXT VALUE OP LIMIT: "VALUE (goal OP LIMIT: met|NOT met)".
goal() {
    awk -v v="$2" -v op="$3" -v l="$4" 'BEGIN {
        ok = (op == "<=") ? (v + 0 <= l + 0) : 0
        printf "goal %s %s: %s", op, l, ok ? "met" : "NOT met" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b; else print "n/a" }'; }
mean_flips() { # NAME FIELD
    awk -v a="${R[$1.flip1.$2]:-}" -v b="${R[$1.flip2.$2]:-}" -v c="${R[$1.flip3.$2]:-}" \
        'BEGIN { printf "%.1f", (a + b + c) / 3 }'
}

report() {
    local tag=$1 r
    echo
    echo "=== results: $tag ($S Services x $D endpoints, family $FAM: $((S * NFAM)) virtual servers, $((S * NFAM * D)) real servers)"
    line "program: wall ms, CPU ms (user+sys), same table" "" ""
    for p in $programs; do
        line "  $p" "${R[$p.wall_ms]:-} ms" "cpu ${R[$p.cpu_ms]:-} ms (user ${R[$p.user_ms]:-}, sys ${R[$p.sys_ms]:-}) ready_ms ${R[$p.ready_ms]:-} same=${R[$p.same]:-}"
    done
    local fc=${R[floor.cpu_ms]:-0} fw=${R[floor.wall_ms]:-0}
    if [[ " $programs " == *" from "* ]]; then
        r=$(ratio "${R[from.cpu_ms]}" "$fc")
        line "cold-start CPU --from / floor CPU" "${r}x" "$(goal x "$r" "<=" 6)"
        r=$(ratio "${R[once.cpu_ms]:-0}" "$fc")
        line "cold-start CPU --once --from / floor CPU" "${r}x" "(no goal)"
        r=$(ratio "${R[from.wall_ms]}" "${R[keepalived.wall_ms]:-0}")
        line "cold-start wall --from / keepalived wall" "${r}x" "$(goal x "$r" "<=" 0.6)"
        r=$(ratio "${R[from.wall_ms]}" "$fw")
        line "cold-start wall --from / floor wall" "${r}x" "(no goal)"
    fi
    if [[ " $programs " == *" api "* ]]; then
        r=$(ratio "${R[api.cpu_ms]}" "$fc")
        line "cold-start CPU API / floor CPU" "${r}x" "$(goal x "$r" "<=" 7)"
        r=$(ratio "${R[api.wall_ms]}" "${R[keepalived.wall_ms]:-0}")
        line "cold-start wall API / keepalived wall" "${r}x" "(no goal)"
    fi
    for p in from api; do
        [[ " $programs " == *" $p "* ]] || continue
        local mc mw
        mc=$(mean_flips "$p" cpu_ms)
        mw=$(mean_flips "$p" wall_ms)
        line "$p flip: kipvs CPU ms (mean of 3)" "$mc ms" "each ${R[$p.flip1.cpu_ms]} ${R[$p.flip2.cpu_ms]} ${R[$p.flip3.cpu_ms]}; +0.5 s: ${R[$p.flip1.settle_cpu_ms]} ${R[$p.flip2.settle_cpu_ms]} ${R[$p.flip3.settle_cpu_ms]}"
        r=$(awk -v a="$mc" -v b="$fc" 'BEGIN { if (b > 0) printf "%.2f", a / b * 100; else print "n/a" }')
        line "$p flip CPU / floor CPU" "$r %" "$(goal % "$r" "<=" 1)"
        line "$p flip: event-to-kernel wall ms (mean of 3)" "$mw ms" "each ${R[$p.flip1.wall_ms]} ${R[$p.flip2.wall_ms]} ${R[$p.flip3.wall_ms]}"
        r=$(ratio "$mw" "$fw")
        line "$p flip wall / floor wall" "${r}x" "$(goal x "$r" "<=" 0.2)"
        if [ -n "${R[$p.idle_pct]:-}" ]; then
            line "$p idle ${idle_s} s (sync period 30 s), % of a core" "${R[$p.idle_pct]} %" "$(goal % "${R[$p.idle_pct]}" "<=" 2)"
            line "$p one /metrics scrape, CPU" "${R[$p.scrape_ms]} ms" ""
        fi
        local lim=128 hwm rss1 rss2
        [ $p = api ] && lim=96
        hwm=$(awk -v k="${R[$p.hwm_end]}" 'BEGIN { printf "%.1f", k / 1024 }')
        rss1=$(awk -v k="${R[$p.rss_first]}" 'BEGIN { printf "%.1f", k / 1024 }')
        rss2=$(awk -v k="${R[$p.rss_end]}" 'BEGIN { printf "%.1f", k / 1024 }')
        line "$p peak RSS (VmHWM)" "$hwm MiB" "$(goal MiB "$hwm" "<=" $lim)"
        line "$p steady RSS (VmRSS after the first sync)" "$rss1 MiB" "$(goal MiB "$rss1" "<=" 64)"
        line "$p RSS at the end (after flips and idle)" "$rss2 MiB" "$(goal MiB "$rss2" "<=" 64)"
    done
}

# growth: kipvs run --from cold start at S = 5 000, 10 000, 20 000 (10 000 from the main run).
declare -A G=()
growth_point() {
    gen "$1" 10 4
    run_from_cold
    G[$1.user]=${R[from.user_ms]} G[$1.sys]=${R[from.sys_ms]} G[$1.hwm]=${R[from.hwm_kb]}
    G[$1.rss]=${R[from.rss_kb]} G[$1.wall]=${R[from.wall_ms]}
}
run_from_cold() {
    ns_fresh b-from
    rm -rf /run/kipvs
    probe from b-from --until table --ready -- "$KIPVS" run --from "$T/from" --hostname-override bench-node \
        "${daemon_args[@]}"
    same_table from b-from
    ns_done b-from "$CG/bench-from"
}
growth_report() {
    echo
    echo "=== growth: kipvs run --from, cold start, S Services x 10 endpoints IPv4"
    line "S: user CPU ms, sys CPU ms, VmHWM kB, VmRSS kB, wall ms" "" ""
    for s in 5000 10000 20000; do
        line "  S=$s" "${G[$s.user]} ms" "sys ${G[$s.sys]} ms, VmHWM ${G[$s.hwm]} kB, VmRSS ${G[$s.rss]} kB, wall ${G[$s.wall]} ms"
    done
    for pair in "5000 10000" "10000 20000"; do
        set -- $pair
        r=$(ratio "${G[$2.user]}" "${G[$1.user]}")
        line "user CPU S=$2 / S=$1" "${r}x" "$(goal x "$r" "<=" 2.2)"
        r=$(ratio "${G[$2.hwm]}" "${G[$1.hwm]}")
        line "VmHWM S=$2 / S=$1" "${r}x" "$(goal x "$r" "<=" 2.2)"
        r=$(ratio "${G[$2.rss]}" "${G[$1.rss]}")
        line "VmRSS after the first sync S=$2 / S=$1" "${r}x" "$(goal x "$r" "<=" 2.2)"
        r=$(ratio "${G[$2.sys]}" "${G[$1.sys]}")
        line "kernel (sys) CPU S=$2 / S=$1" "${r}x" "(reported apart)"
    done
}

uname -r
start=$SECONDS
case "${1:-}" in
smoke)
    programs="floor ipvsadm keepalived once from api"
    idle_s=0
    one_table 50 3 dual
    report smoke
    ;;
growth)
    for s in 5000 10000 20000; do growth_point $s; done
    growth_report
    ;;
rest) # all but the IPv4 table
    for s in 5000 10000 20000; do growth_point $s; done
    growth_report
    programs=${KIPVS_BENCH_PROGRAMS_V6:-floor once from api}
    for fam in 6 dual; do
        R=()
        one_table 10000 10 $fam
        report "IPv$fam"
    done
    ;;
all)
    one_table 10000 10 4
    report "IPv4"
    G[10000.user]=${R[from.user_ms]} G[10000.sys]=${R[from.sys_ms]} G[10000.hwm]=${R[from.hwm_kb]}
    G[10000.rss]=${R[from.rss_kb]} G[10000.wall]=${R[from.wall_ms]}
    growth_point 5000
    growth_point 20000
    growth_report
    R=()
    programs=${KIPVS_BENCH_PROGRAMS_V6:-floor once from api}
    one_table 10000 10 6
    report "IPv6"
    R=()
    one_table 10000 10 dual
    report "dual-stack"
    ;;
*)
    one_table "${1:-10000}" "${2:-10}" "${3:-4}"
    report "$S x $D family $FAM"
    ;;
esac
echo
echo "scale benchmark: $((SECONDS - start)) s in the guest"
[ "$mismatch" = 0 ] || fail "a program did not produce the benchmark table (see MISMATCH above)"

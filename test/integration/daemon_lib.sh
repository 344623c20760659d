# SPDX-License-Identifier: Apache-2.0
# Helpers for the daemon's guest tests (and scripts/demo): the fake API server, `kipvs run` in
# the background, polling with a deadline, metrics. Source it after test/vm/lib.sh.
#   . "$(dirname "$(readlink -f "$0")")/daemon_lib.sh"

# KIPVS_BIN: another build of it (daemon_api runs the ASan+UBSan one, kipvs-san).
KIPVS=${KIPVS_BIN:-${KIPVS:-${KIPVS_BUILD_DIR:-$(pwd)/build}/cmd/kipvs}}
SRC=${KIPVS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PY=/usr/bin/python3
declare -A KIPVS_PIDS=()

# now_ms: the uptime in milliseconds (cheap: no fork).
now_ms() {
    local up _
    read -r up _ </proc/uptime
    echo $((${up%.*} * 1000 + 10#${up#*.} * 10))
}

# wait_until DESC SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails after SECONDS.
# Prints how long it took (ms) in WAITED_MS.
wait_until() {
    local desc=$1 secs=$2 start
    shift 2
    start=$(now_ms)
    while ! "$@" >/dev/null 2>&1; do
        if (($(now_ms) - start > secs * 1000)); then
            fail "$desc: not after ${secs}s"
        fi
        sleep 0.1
    done
    WAITED_MS=$(($(now_ms) - start))
}

# json_field FILE KEY: a top-level string or number field of a one-line JSON file.
json_field() {
    sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}[,}].*/\1/p" "$1" | head -n1
}

# fake_start DIR [ARGS...]: the fake API server in the background (readiness in DIR/ready.json);
# sets FAKE_PID, FAKE_URL, FAKE_CTL, FAKE_DIR. fake_spawn and fake_wait are its two halves, for
# doing other work while it starts (it takes tens of seconds under TCG).
fake_start() {
    fake_spawn "$@"
    fake_wait
}

fake_spawn() {
    FAKE_DIR=$1
    shift
    mkdir -p "$FAKE_DIR"
    rm -f "$FAKE_DIR/ready.json"
    "$PY" "$SRC/test/fake-apiserver/fake-apiserver" --dir "$FAKE_DIR" \
        --ready-file "$FAKE_DIR/ready.json" --bookmark-interval 1 "$@" \
        >>"$FAKE_DIR/fake.out" 2>>"$FAKE_DIR/fake.err" &
    FAKE_PID=$!
}

fake_wait() {
    wait_until "fake API server ready" 180 test -s "$FAKE_DIR/ready.json"
    FAKE_URL=$(json_field "$FAKE_DIR/ready.json" url)
    FAKE_CTL=$(json_field "$FAKE_DIR/ready.json" control_url)
    [ -n "$FAKE_CTL" ] || fail "fake API server: no control_url in $(cat "$FAKE_DIR/ready.json")"
}

# fake_stop: SIGTERM to the fake API server, and wait for it.
fake_stop() {
    kill -TERM "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true
}

# ctl METHOD PATH [JSON]: a control API request; the answer on stdout.
ctl() {
    if [ $# -ge 3 ]; then
        curl -sS --fail-with-body --max-time 10 -X "$1" -H 'Content-Type: application/json' \
            --data-binary "$3" "$FAKE_CTL$2" || fail "control $1 $2"
    else
        curl -sS --fail-with-body --max-time 10 -X "$1" "$FAKE_CTL$2" || fail "control $1 $2"
    fi
}

# kipvs_start NAME NS ARGS...: `kipvs run ARGS` in network namespace NS ("" = root) in the
# background, log in /tmp/kipvs-NAME.log (appended).
kipvs_start() {
    local name=$1 ns=$2
    shift 2
    echo "--- kipvs run $* (namespace '${ns}')" >>"/tmp/kipvs-$name.log"
    # A simple command in the background, so that $! is kipvs itself (ip netns exec execs).
    if [ -z "$ns" ]; then
        "$KIPVS" run "$@" >>"/tmp/kipvs-$name.log" 2>&1 &
    else
        ip netns exec "$ns" "$KIPVS" run "$@" >>"/tmp/kipvs-$name.log" 2>&1 &
    fi
    KIPVS_PIDS[$name]=$!
}

# kipvs_stop NAME [SIGNAL]: signal it (TERM by default) and wait; fails when TERM does not end it
# with status 0 within 10 s.
kipvs_stop() {
    local name=$1 sig=${2:-TERM} pid=${KIPVS_PIDS[$1]} i rc=0
    kill "-$sig" "$pid" || fail "kipvs $name is not running"
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "kipvs $name still running 10 s after SIG$sig"
    wait "$pid" || rc=$?
    if grep -qE 'Sanitizer|runtime error:' "/tmp/kipvs-$name.log"; then
        grep -A40 -E 'Sanitizer|runtime error:' "/tmp/kipvs-$name.log" | head -n 80
        fail "kipvs $name: sanitizer report (exit $rc)"
    fi
    if [ "$sig" = TERM ] && [ "$rc" != 0 ]; then
        tail -n 20 "/tmp/kipvs-$name.log"
        fail "kipvs $name exited $rc after SIGTERM"
    fi
    unset "KIPVS_PIDS[$name]"
}

# kipvs_alive NAME: fail (with the log's tail) when it exited.
kipvs_alive() {
    kill -0 "${KIPVS_PIDS[$1]}" 2>/dev/null && return 0
    tail -n 30 "/tmp/kipvs-$1.log"
    fail "kipvs $1 exited"
}

# kipvs_log NAME: its log so far.
kipvs_log() {
    cat "/tmp/kipvs-$1.log"
}

# table [NS]: `ipvsadm -Sn`, sorted (the set of lines).
table() {
    in_ns "${1:-}" ipvsadm -Sn | sort
}

# table_is WANT [NS]: true when the kernel table (sorted) is exactly WANT (sorted).
table_is() {
    [ "$(table "${2:-}")" = "$(sort <<<"$1")" ]
}

# plan_of JSON ARGS...: `kipvs plan --from JSON ARGS`, sorted.
plan_of() {
    local json=$1
    shift
    "$KIPVS" plan --from "$json" "$@" 2>/dev/null | sort
}

# metric URL NAME: the value of one series (NAME with its labels, exactly as printed), 0 if absent.
metric() {
    local v
    v=$(curl -sS --max-time 5 "$1/metrics" | grep -F -- "$2 " | head -n1 | awk '{print $2}')
    echo "${v:-0}"
}

# ops URL: the netlink operation counters as "op=N ..." (sorted), for deltas.
ops() {
    curl -sS --max-time 5 "$1/metrics" |
        sed -n 's/^kipvs_netlink_operations_total{op="\([a-z_]*\)"} \([0-9]*\)$/\1=\2/p' | sort
}

# ops_delta BEFORE AFTER: the counters that moved, "op=+N ...", sorted by op.
ops_delta() {
    awk -v before="$1" -v after="$2" 'BEGIN {
        n = split(before, b, /[ \n]/); for (i = 1; i <= n; i++) { split(b[i], kv, "="); old[kv[1]] = kv[2] }
        n = split(after, a, /[ \n]/); out = ""
        for (i = 1; i <= n; i++) { split(a[i], kv, "="); d = kv[2] - old[kv[1]]; if (d != 0) out = out (out ? " " : "") kv[1] "=+" d }
        print out }'
}

# On a failed exit, show the end of every kipvs log and the fake server's errors.
daemon_lib_on_exit() {
    local rc=$? f
    [ "$rc" = 0 ] && return 0
    for f in /tmp/kipvs-*.log; do
        [ -e "$f" ] || continue
        echo "----- last lines of $f"
        tail -n 40 "$f"
    done
    if [ -n "${FAKE_DIR:-}" ] && [ -s "$FAKE_DIR/fake.err" ]; then
        echo "----- last lines of $FAKE_DIR/fake.err"
        tail -n 15 "$FAKE_DIR/fake.err"
    fi
    return "$rc"
}
trap daemon_lib_on_exit EXIT

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The test guest's runner fails loudly and cannot be fooled (runs on the host; each case boots
# its own guest): a missing or broken kernel, a guest that cannot boot, a job past --timeout, a
# job that crashes the kernel after printing fake status lines: all non-zero with a clear reason.
# A job's own exit status comes back unchanged; 77 (meson's "skipped") becomes 1.
# Usage: vm_fails_loudly.sh RUN-IN-GUEST
set -uo pipefail
runner=$1
failed=0

# check NAME WANT-EXIT WANT-TEXT [VAR=VALUE...] -- RUNNER-ARGS...: run the runner (with the
# environment assignments), compare its exit status and look for WANT-TEXT (a grep -E pattern
# over the whole output, stdout+stderr: "." also matches a newline) in what it printed.
check() {
    local name=$1 want_rc=$2 want_text=$3 assigns=() out rc start
    shift 3
    while [ "$1" != -- ]; do
        assigns+=("$1")
        shift
    done
    shift
    start=$SECONDS
    out=$(env "${assigns[@]}" "$runner" "$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        echo "FAIL $name: exit $rc, want $want_rc; output:"
        echo "$out" | sed 's/^/    /'
        failed=1
    elif ! grep -qzE -- "$want_text" <<<"$out"; then
        echo "FAIL $name: output lacks /$want_text/; output:"
        echo "$out" | sed 's/^/    /'
        failed=1
    else
        echo "ok   $name ($((SECONDS - start))s)"
    fi
}

# Status lines in the runner's format, but with markers the job cannot know.
fake='for m in kipvs-00000000000000000000000000000000 kipvs-; do
        for what in "start 1.00" "exit 0 2.00"; do
            line="$m $what"
            echo "$line"
            for dev in /dev/console /dev/ttyS0 /dev/vport*; do echo "$line" >"$dev"; done
        done
    done 2>/dev/null'

check "a missing kernel is an error" 99 "FAILED: kernel not found: /nonexistent" \
    KIPVS_VM_KERNEL=/nonexistent -- true
check "a kernel that is no bzImage is an error" 99 "FAILED: not a bootable x86 kernel" \
    KIPVS_VM_KERNEL=/etc/hostname -- true
check "a job that exits 0 passes" 0 "job exited 0" -- /bin/true
check "a job's exit status comes back" 3 "job exited 3" -- /bin/sh -c 'exit 3'
check "exit 77 (skip) is a failure" 1 "never skip" -- /bin/sh -c 'exit 77'
check "the job's output comes back" 0 "hello from the guest" -- /bin/sh -c 'echo hello from the guest'
check "a guest that cannot boot fails with its console" 99 \
    "FAILED: the guest powered off before starting the job.*guest console" \
    KIPVS_VM_APPEND=rdinit=/nonexistent -- /bin/true
# (Under heavy load the boot alone may outlast the timeout: either message is right.)
check "a job past --timeout is killed" 124 \
    "TIMEOUT: the (job was still running|guest did not start the job).*end of guest console" \
    -- --timeout 20 /bin/sleep 600
check "fake status lines, then exit 5: exit 5" 5 "job exited 5" \
    -- /bin/sh -c "$fake; exit 5"
check "fake status lines, then a kernel crash: failure" 99 \
    "FAILED: the job started .* without reporting its exit status" \
    -- /bin/sh -c "$fake; echo c >/proc/sysrq-trigger; sleep 60"
check "a job that powers the guest off: failure" 99 "without reporting its exit status" \
    -- /bin/sh -c 'echo o >/proc/sysrq-trigger; sleep 60'
check "a job path under /tmp is refused" 99 "the guest cannot see /tmp/" -- /tmp/job.sh
exit $failed

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dist/kipvs.service carries what the issue asks of it, and systemd parses it.
# Usage: test_service_file.sh PATH/kipvs.service
set -u
unit=$1
fail=0

want() {
	if ! grep -qx "$1" "$unit"; then
		echo "FAIL: $unit lacks the line: $1"
		fail=1
	fi
}

want 'Type=notify'
want 'Restart=always'
want 'TimeoutStartSec=infinity'
want 'RuntimeDirectory=kipvs'
want 'RuntimeDirectoryPreserve=yes'
want 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_MODULE'
want 'AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_MODULE'
grep -q '^WatchdogSec=[1-9]' "$unit" || { echo "FAIL: no WatchdogSec"; fail=1; }
grep -q '^ExecStart=.* run ' "$unit" || { echo "FAIL: ExecStart does not run kipvs run"; fail=1; }

# systemd's own parser, with ExecStart pointed at a binary that exists here.
if command -v systemd-analyze >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	sed 's|^ExecStart=[^ ]*|ExecStart=/bin/true|' "$unit" >"$tmp/kipvs.service"
	out=$(systemd-analyze verify "$tmp/kipvs.service" 2>&1)
	rm -rf "$tmp"
	if [ -n "$out" ]; then
		echo "FAIL: systemd-analyze verify: $out"
		fail=1
	fi
else
	echo "note: systemd-analyze not installed; only the directives were checked"
fi
[ $fail = 0 ] && echo "PASS service file"
exit $fail

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The list benchmark (issue 3): the fake API server (test/fake-apiserver) serves 10 000
# Services and 10 000 EndpointSlices (100 000 endpoints) over HTTPS, and bench_list times our
# client's first full sync + decode into the cache and prints its CPU time and peak RSS: twice,
# the streaming list (the default) and the paginated LIST (--no-watch-list, with the fake paging
# resourceVersion=0 lists as a server without a watch cache does).
# Prints figures; asserts nothing about speed (it fails only when the list is incomplete).
#   bench/run-list-bench.sh [BUILD_DIR]          or   meson test -C BUILD --benchmark list
# Extra arguments after BUILD_DIR go to bench_list (e.g. --page-limit 100).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${KIPVS_BUILD_DIR:-$here/../build}}
shift || true
bench=$build/bench/bench_list
fake=$here/../test/fake-apiserver/fake-apiserver
tmp=$(mktemp -d /tmp/kipvs-bench-list-XXXXXX)
fake_pid=
cleanup() {
    if [ -n "$fake_pid" ]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/data" "$tmp/fake"
"$bench" --write "$tmp/data"
start=$(date +%s%N)
"$fake" --dir "$tmp/fake" --ready-file "$tmp/ready.json" --bookmark-interval 60 \
    --load "$tmp/data/services.json" --load "$tmp/data/slices.json" \
    --load "$tmp/data/node.json" >"$tmp/fake.out" 2>"$tmp/fake.err" &
fake_pid=$!
for _ in $(seq 1 1200); do
    [ -s "$tmp/ready.json" ] && break
    if ! kill -0 "$fake_pid" 2>/dev/null; then
        echo "fake-apiserver exited:" >&2
        cat "$tmp/fake.err" >&2
        exit 1
    fi
    sleep 0.1
done
if [ ! -s "$tmp/ready.json" ]; then
    echo "fake-apiserver not ready after 120 s" >&2
    exit 1
fi
echo "fake-apiserver loaded the objects in $(( ($(date +%s%N) - start) / 1000000 )) ms"
kubeconfig=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kubeconfig"]["token"])' \
    "$tmp/ready.json")
control=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_url"])' \
    "$tmp/ready.json")
echo "== streaming list"
"$bench" --kubeconfig "$kubeconfig" "$@"
echo "== paginated LIST"
curl -sf -X POST -H 'Content-Type: application/json' -d '{"rv0_paginates": true}' \
    "$control/control/config" >/dev/null
"$bench" --kubeconfig "$kubeconfig" --no-watch-list "$@"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: `kipvs run --once` against live pods. The sysctls are set when wrong
# and left when right; the same run twice changes nothing and keeps counters; a second instance
# is refused by the lock; a weight 0 left behind is restored and a deleted VS recreated; a
# changed file gives exactly the expected operations (plan --diff, then the summary); foreign
# services (another address, and the same VIP on another port) survive sync and cleanup, and
# that VIP stays bound; a TCP real server with a live connection drains at weight 0 while new
# connections go elsewhere, and is deleted once its connection is gone.
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

kipvs=${1:-${KIPVS_BUILD_DIR:-}/cmd/kipvs}
[ -x "$kipvs" ] || fail "no kipvs binary at '$kipvs'"
ipvs_load
work=$(mktemp -d /tmp/own.XXXXXX)

step "pods pod-a 10.244.1.2, pod-b 10.244.2.2, client 10.0.0.2"
netns_pod pod-a 10.244.1.2/24 10.244.1.1
netns_pod pod-b 10.244.2.2/24 10.244.2.1
netns_pod client 10.0.0.2/24 10.0.0.1
serve_http pod-a 8080 pod-a
serve_http pod-b 8080 pod-b
serve_http pod-b 9000 pod-b
# pod-a:9000 echoes lines (one thread per connection).
in_ns pod-a python3 -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000)); s.listen(8)
def echo(c):
    try:
        while True:
            d = c.recv(100)
            if not d: break
            c.sendall(d)
    except OSError:
        pass  # the client resets its connection on purpose
while True:
    c, _ = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
' &
wait_tcp client 10.244.1.2 8080
wait_tcp client 10.244.2.2 8080
wait_tcp client 10.244.1.2 9000

# The objects, in variants: v1 base; v2 changed (web's pod-b terminating, aff gets ClientIP
# and loses pod-b, dns deleted); v3 long gains pod-b; v4 long loses pod-a.
python3 - "$work" <<'PY'
import json, sys
d = sys.argv[1]
def svc(name, ip, port, proto="TCP", aff="None"):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"namespace": "default", "name": name, "uid": "u-" + name, "resourceVersion": "1"},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"],
                     "sessionAffinity": aff,
                     "ports": [{"port": port, "protocol": proto, "targetPort": port}]}}
def eps(name, port, addrs, proto="TCP"):
    e = []
    for a, cond in addrs:
        c = {"ready": cond == "ready", "serving": True, "terminating": cond == "terminating"}
        e.append({"addresses": [a], "conditions": c, "nodeName": "node-a"})
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"namespace": "default", "name": name + "-x", "resourceVersion": "1",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": "", "port": port, "protocol": proto}],
            "endpoints": e}
A, B = "10.244.1.2", "10.244.2.2"
def variant(web_b="ready", aff="None", aff_b=True, dns=True, long_addrs=((A, "ready"),)):
    items = [svc("web", "10.96.0.10", 80), eps("web", 8080, [(A, "ready"), (B, web_b)]),
             svc("aff", "10.96.0.12", 80, aff=aff),
             eps("aff", 8080, [(A, "ready")] + ([(B, "ready")] if aff_b else [])),
             svc("long", "10.96.0.13", 9000), eps("long", 9000, list(long_addrs))]
    if dns:
        items += [svc("dns", "10.96.0.11", 53, "UDP"), eps("dns", 53, [(A, "ready")], "UDP")]
    return {"apiVersion": "v1", "kind": "List", "items": items}
vs = {"v1": variant(),
      "v2": variant(web_b="terminating", aff="ClientIP", aff_b=False, dns=False),
      "v3": variant(web_b="terminating", aff="ClientIP", aff_b=False, dns=False,
                    long_addrs=((A, "ready"), (B, "ready"))),
      "v4": variant(web_b="terminating", aff="ClientIP", aff_b=False, dns=False,
                    long_addrs=((B, "ready"),))}
for k, v in vs.items():
    json.dump(v, open(f"{d}/{k}.json", "w"))
PY

common=(--hostname-override node-a --node-ip 192.168.99.1 --ipvs-drain-timeout 5m)
# once VARIANT [ARGS]: kipvs run --once; its stderr in $err, the summary (without the time) in
# $sum.
once() {
    local rc=0
    "$kipvs" run --from "$work/$1.json" "${common[@]}" --once "${@:2}" 2>"$work/err" || rc=$?
    err=$(cat "$work/err")
    sum=$(grep '^sync:' <<<"$err" | sed 's/, took .*//')
    echo "$sum"
    return $rc
}
plan_sorted() { "$kipvs" plan --from "$work/$1.json" "${common[@]}" 2>/dev/null | sort; }
mine() { ipvsadm -Sn | grep -v -e 10.50.0.1 -e ':9999' | sort; }

step "foreign services: another address, and the same VIP on another port"
ipvsadm -A -t 10.50.0.1:80 -s wrr || fail "foreign 1"
ipvsadm -a -t 10.50.0.1:80 -r 10.50.0.9:80 -g -w 5 || fail "foreign 1 rs"
ipvsadm -A -t 10.96.0.10:9999 -s lc || fail "foreign 2"
foreign_before=$(ipvsadm -Sn | grep -e 10.50.0.1 -e ':9999' | sort)

step "sysctls: set when different, and logged"
echo 0 >/proc/sys/net/ipv4/vs/conntrack
echo 0 >/proc/sys/net/ipv4/vs/expire_nodest_conn
once v1 || { echo "$err"; fail "first run"; }
expect_eq "first run" "$sum" \
    "sync: services +4 ~0 -0, destinations +6 ~0 -0, addresses +4 -0, draining 0"
expect_eq "conntrack" "$(cat /proc/sys/net/ipv4/vs/conntrack)" 1
expect_eq "expire_nodest_conn" "$(cat /proc/sys/net/ipv4/vs/expire_nodest_conn)" 1
grep -q 'conntrack' <<<"$err" || { echo "$err"; fail "the conntrack change was not logged"; }
expect_eq "kernel = plan" "$(mine)" "$(plan_sorted v1)"
expect_eq "foreign untouched" "$(ipvsadm -Sn | grep -e 10.50.0.1 -e ':9999' | sort)" "$foreign_before"

step "traffic, then the same run again: zero changes, counters kept, sysctls left alone"
for i in 1 2 3 4; do http_get client http://10.96.0.10/ >/dev/null; done
sleep 3
stats() { ipvsadm -Ln --stats -t 10.96.0.10:80 | awk '$1 == "TCP" {print $3}'; }
before=$(stats)
[ "${before:-0}" -ge 4 ] || fail "the VS counted ${before:-0} connections, want >= 4"
once v1 || { echo "$err"; fail "second run"; }
expect_eq "second run" "$sum" \
    "sync: services +0 ~0 -0, destinations +0 ~0 -0, addresses +0 -0, draining 0"
grep -q 'sysctl' <<<"$err" && { echo "$err"; fail "a sysctl was set although already right"; }
after=$(stats)
[ "$after" -ge "$before" ] || fail "connection counter went from $before to $after (VS re-created?)"

step "a second instance in the same namespace is refused"
lock=$(ls /run/kipvs/net-*.lock) || fail "no lock file under /run/kipvs"
exec 9<>"$lock"
flock -n 9 || fail "cannot take the lock as a stand-in for a running kipvs"
if once v1; then fail "a second instance ran while the lock was held"; fi
# No pid in the message: flock does not tell who holds the lock (the last kipvs run wrote
# nothing either); the message names the lock file.
expect_eq "refusal message" "$(grep 'already manages' <<<"$err")" \
    "kipvs run: another kipvs already manages IPVS in this network namespace (lock $lock held; fuser -v $lock names the holder)"
exec 9>&-

step "weight 0 left by a killed run is restored; a VS deleted behind kipvs's back is recreated"
ipvsadm -e -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 0
ipvsadm -D -u 10.96.0.11:53
once v1 || { echo "$err"; fail "repair run"; }
expect_eq "repair" "$sum" \
    "sync: services +1 ~0 -0, destinations +1 ~1 -0, addresses +0 -0, draining 0"
expect_eq "kernel = plan" "$(mine)" "$(plan_sorted v1)"

step "changed objects: exactly the expected operations, in one batch"
got=$("$kipvs" plan --from "$work/v2.json" "${common[@]}" --diff 2>/dev/null) || fail "plan --diff"
want="-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 0
-E -t 10.96.0.12:80 -s rr -p 10800
-d -t 10.96.0.12:80 -r 10.244.2.2:8080
-D -u 10.96.0.11:53"
expect_eq "plan --diff" "$(sort <<<"$got")" "$(sort <<<"$want")"
once v2 -v=1 || { echo "$err"; fail "run v2"; }
expect_eq "v2 run" "$sum" \
    "sync: services +0 ~1 -1, destinations +0 ~1 -1, addresses +0 -1, draining 0"
# The -v=1 details line: the four operations went to the kernel in one sendmsg.
expect_eq "v2 operations and batches" \
    "$(grep 'sync details' <<<"$err" | grep -o 'operations=[0-9]* batches=[0-9]*')" \
    "operations=4 batches=1"
expect_eq "kernel = plan" "$(mine)" "$(plan_sorted v2)"
ip addr show dev kube-ipvs0 | grep -q '10.96.0.11/' && fail "10.96.0.11 still bound"

step "draining: a live TCP connection through the VIP to pod-a"
once v3 || { echo "$err"; fail "run v3"; }
# Connections go round robin: open until one lands on pod-a (the echo server answers).
in_ns client python3 - "$work" <<'PY' &
import os, socket, struct, sys, time
w = sys.argv[1]
while True:
    s = socket.create_connection(("10.96.0.13", 9000), timeout=5)
    s.sendall(b"hello\n")
    if s.recv(100) == b"hello\n":
        break
    s.close()
open(f"{w}/conn-up", "w").close()
while not os.path.exists(f"{w}/go"):
    time.sleep(0.2)
s.sendall(b"still\n")
open(f"{w}/conn-result", "w").write(s.recv(100).decode())
while not os.path.exists(f"{w}/close"):
    time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # RST: the IPVS entry goes to CLOSE (10 s) instead of TIME_WAIT (2 min)
open(f"{w}/closed", "w").close()
PY
clientpid=$!
for i in $(seq 50); do [ -e "$work/conn-up" ] && break; sleep 0.2; done
[ -e "$work/conn-up" ] || fail "no connection to pod-a through 10.96.0.13:9000"
once v4 || { echo "$err"; fail "run v4"; }
expect_eq "v4 run" "$sum" \
    "sync: services +0 ~0 -0, destinations +0 ~1 -0, addresses +0 -0, draining 1"
expect_line "pod-a at weight 0" "$(ipvsadm -Sn)" "-a -t 10.96.0.13:9000 -r 10.244.1.2:9000 -m -w 0"
grep -q 'net-.*drain tcp 10.96.0.13 9000 10.244.1.2 9000' /run/kipvs/*.state 2>/dev/null ||
    grep -q 'drain tcp 10.96.0.13 9000 10.244.1.2 9000' /run/kipvs/*.state || fail "no drain record"
touch "$work/go"
for i in $(seq 50); do [ -s "$work/conn-result" ] && break; sleep 0.2; done
expect_eq "the draining connection still works" "$(cat "$work/conn-result" 2>/dev/null)" "still"
for i in 1 2 3; do
    expect_eq "new connection $i goes to pod-b" "$(http_get client http://10.96.0.13:9000/)" "pod-b"
done
once v4 || { echo "$err"; fail "run v4 again"; }
expect_eq "still draining" "$sum" \
    "sync: services +0 ~0 -0, destinations +0 ~0 -0, addresses +0 -0, draining 1"
touch "$work/close"
wait "$clientpid" || fail "client failed"
# The CLOSE entry lives 10 s; then the real server has no connection left.
for i in $(seq 30); do
    [ -z "$(ipvsadm -Lnc | grep 10.244.1.2:9000)" ] && break
    sleep 1
done
once v4 || { echo "$err"; fail "run v4 after close"; }
expect_eq "drained" "$sum" \
    "sync: services +0 ~0 -0, destinations +0 ~0 -1, addresses +0 -0, draining 0"
expect_eq "kernel = plan" "$(mine)" "$(plan_sorted v4)"

step "cleanup removes what kipvs created and nothing else"
"$kipvs" cleanup 2>"$work/err" || { cat "$work/err"; fail "cleanup"; }
expect_eq "only foreign services left" "$(ipvsadm -Sn | sort)" "$foreign_before"
expect_eq "the VIP a foreign service uses stays bound" \
    "$(ip -o -4 addr show dev kube-ipvs0 | awk '{print $4}')" "10.96.0.10/32"
echo "PASS"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs in the test guest: the IPVS scheduler of `kipvs run`.
#   - --ipvs-scheduler bogus: run --once and the daemon exit 2 with one line naming it, and the
#     kernel is as before (no virtual server, no kube-ipvs0, no table inet kipvs, no sysctl);
#   - the probe leaves a virtual server it did not create on its key alone;
#   - --ipvs-scheduler mh: every virtual server gets mh-port and mh-fallback (ipvsadm -Sn), and
#     a flag changed by hand is put back by the next sync;
#   - mh-port spreads one client's connections over the pods (without it: all on one);
#   - mh-fallback: with a pod at weight 0 (terminating), no new connection fails and none goes
#     to it (without it: the ones hashed to that pod are refused).
. "$(dirname "$(readlink -f "$0")")/../vm/lib.sh"

kipvs=${KIPVS_BUILD_DIR:-}/cmd/kipvs
[ -x "$kipvs" ] || fail "no kipvs binary at '$kipvs'"
work=$(mktemp -d /tmp/sched.XXXXXX)
vip=10.96.0.10

# v1: web with three ready pods; v2: pod-a terminating (still serving: weight 0).
python3 - "$work" <<'PY'
import json, sys
d = sys.argv[1]
def variant(a_cond):
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"namespace": "default", "name": "web", "uid": "u-web", "resourceVersion": "1"},
           "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                    "ipFamilies": ["IPv4"], "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}}
    eps = []
    for ip, cond in (("10.244.1.2", a_cond), ("10.244.2.2", "ready"), ("10.244.3.2", "ready")):
        eps.append({"addresses": [ip], "nodeName": "node-a",
                    "conditions": {"ready": cond == "ready", "serving": True,
                                   "terminating": cond == "terminating"}})
    sl = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
          "metadata": {"namespace": "default", "name": "web-x", "resourceVersion": "1",
                       "labels": {"kubernetes.io/service-name": "web"}},
          "addressType": "IPv4", "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
          "endpoints": eps}
    return {"apiVersion": "v1", "kind": "List", "items": [svc, sl]}
json.dump(variant("ready"), open(f"{d}/v1.json", "w"))
json.dump(variant("terminating"), open(f"{d}/v2.json", "w"))
PY
common=(--hostname-override node-a --node-ip 192.168.99.1)

step "--ipvs-scheduler bogus: exit 2, one clear line, the kernel untouched"
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
want="kipvs run: the kernel has no IPVS scheduler bogus: creating the probe virtual server 198.51.100.0:20000/tcp with it failed: No such file or directory (is there a module ip_vs_bogus?)"
rc=0
"$kipvs" run --from "$work/v1.json" "${common[@]}" --ipvs-scheduler bogus --once 2>"$work/err" || rc=$?
expect_eq "run --once: exit status" "$rc" 2
expect_line "run --once: message" "$(cat "$work/err")" "$want"
rc=0
"$kipvs" run --from "$work/v1.json" "${common[@]}" --ipvs-scheduler bogus \
    --healthz-bind-address '' --metrics-bind-address '' 2>"$work/err" || rc=$?
expect_eq "daemon: exit status" "$rc" 2
grep -qF "msg=\"cannot open the kernel side\" err=\"${want#kipvs run: }\"" "$work/err" ||
    fail "daemon: no line naming the scheduler: $(cat "$work/err")"
expect_eq "no virtual server" "$(ipvsadm -Sn)" ""
! ip link show kube-ipvs0 >/dev/null 2>&1 || fail "kube-ipvs0 created"
! nft list table inet kipvs >/dev/null 2>&1 || fail "table inet kipvs created"
expect_eq "net.ipv4.vs.conntrack" "$(cat /proc/sys/net/ipv4/vs/conntrack)" 0
expect_eq "net.ipv4.ip_forward" "$(cat /proc/sys/net/ipv4/ip_forward)" "$forward_before"

step "pods pod-a 10.244.1.2, pod-b 10.244.2.2, pod-c 10.244.3.2, client 10.0.0.2"
for p in a:1 b:2 c:3; do
    netns_pod "pod-${p%:*}" "10.244.${p#*:}.2/24" "10.244.${p#*:}.1"
    serve_http "pod-${p%:*}" 8080 "pod-${p%:*}"
done
netns_pod client 10.0.0.2/24 10.0.0.1
for i in 1 2 3; do wait_tcp client "10.244.$i.2" 8080; done

# A virtual server on the probe's first key that kipvs did not create.
ipvsadm -A -t 198.51.100.0:20000 -s wrr -p 60 || fail "foreign service"
ipvsadm -a -t 198.51.100.0:20000 -r 192.0.2.9:80 -g -w 5 || fail "foreign real server"
foreign=$(ipvsadm -Sn)

# once VARIANT: kipvs run --once with mh; its summary line (without the time) in $sum.
once() {
    "$kipvs" run --from "$work/$1.json" "${common[@]}" --ipvs-scheduler mh --once 2>"$work/err" ||
        { cat "$work/err"; fail "run --once $1"; }
    sum=$(grep '^sync:' "$work/err" | sed 's/, took .*//')
}
mine() { ipvsadm -Sn | grep -v 198.51.100.0 | sort; }
plan_sorted() { "$kipvs" plan --from "$work/$1.json" "${common[@]}" --ipvs-scheduler mh 2>/dev/null | sort; }
# hits N: N new TCP connections from the client to the ClusterIP, each from its own source
# port; prints how many answers came from each pod, "refused" for refused connections and
# "error-..." for others ("pod-a=12 pod-b=18 ").
hits() {
    in_ns client python3 - "$1" "$vip" <<'PY' | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' '
import socket, sys
for _ in range(int(sys.argv[1])):
    try:
        s = socket.create_connection((sys.argv[2], 80), timeout=3)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        s.close()
        print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
    except ConnectionRefusedError:
        print("refused")
    except OSError as e:
        print("error-" + type(e).__name__)
PY
}

step "--ipvs-scheduler mh: mh-fallback and mh-port in ipvsadm -Sn; the foreign probe key kept"
once v1
expect_line "the virtual server" "$(ipvsadm -Sn)" "-A -t $vip:80 -s mh -b mh-fallback,mh-port"
expect_eq "kernel = plan" "$(mine)" "$(plan_sorted v1)"
expect_eq "the service on the probe key is untouched" "$(ipvsadm -Sn | grep 198.51.100.0)" \
    "$(grep 198.51.100.0 <<<"$foreign")"

step "without mh-port one client's connections all land on one pod"
ipvsadm -E -t $vip:80 -s mh -b mh-fallback || fail "ipvsadm -E"
got=$(hits 20)
echo "by source address only: $got"
[[ $got =~ ^pod-[abc]=20\ $ ]] || fail "20 connections without mh-port: $got, want one pod"

step "a flag changed by hand is put back, and then the connections spread"
once v1
expect_eq "summary" "$sum" "sync: services +0 ~1 -0, destinations +0 ~0 -0, addresses +0 -0, draining 0"
expect_line "flags put back" "$(ipvsadm -Sn)" "-A -t $vip:80 -s mh -b mh-fallback,mh-port"
got=$(hits 30)
echo "with mh-port: $got"
[[ $got =~ pod-a=.*pod-b=.*pod-c= ]] || fail "30 connections did not reach all three pods: $got"

step "pod-a terminating (weight 0): without mh-fallback its share is refused"
once v2
expect_line "pod-a at weight 0" "$(ipvsadm -Sn)" "-a -t $vip:80 -r 10.244.1.2:8080 -m -w 0"
ipvsadm -E -t $vip:80 -s mh -b mh-port || fail "ipvsadm -E"
got=$(hits 30)
echo "without mh-fallback: $got"
[[ $got =~ refused= ]] || fail "no connection refused without mh-fallback: $got"

step "with mh-fallback no new connection fails and none goes to pod-a"
once v2
expect_eq "summary" "$sum" "sync: services +0 ~1 -0, destinations +0 ~0 -0, addresses +0 -0, draining 0"
got=$(hits 30)
echo "with mh-fallback: $got"
[[ $got =~ ^pod-b=[0-9]+\ pod-c=[0-9]+\ $ ]] || fail "30 connections with pod-a at weight 0: $got"

step "cleanup leaves the foreign service"
"$kipvs" cleanup 2>"$work/err" || { cat "$work/err"; fail "cleanup"; }
expect_eq "only the foreign service left" "$(ipvsadm -Sn)" "$foreign"
echo "PASS: scheduler probe, mh flags, their repair, mh-port spreading and mh-fallback past weight 0"

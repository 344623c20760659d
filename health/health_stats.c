/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What kipvs reports on /metrics: kube-proxy's families where they apply (same names, types,
 * labels and buckets, so existing dashboards keep working) and kipvs's own (netlink operations,
 * draining real servers, per-virtual-server traffic from the kernel's 64-bit counters).
 */
#include "health_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"

/* kube-proxy's metrics.ExponentialBuckets(0.001, 2, 15). */
static void health_sync_buckets(double *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = i ? b[i - 1] * 2 : 0.001;
}

/* kube-proxy's network programming buckets: 0.25 s steps, then 1 s, 5 s and 30 s steps. */
static size_t health_programming_buckets(double *b)
{
	size_t n = 0;

	b[n++] = 0.25;
	b[n++] = 0.5;
	for (int i = 1; i <= 59; i++)
		b[n++] = i;
	for (int i = 60; i <= 115; i += 5)
		b[n++] = i;
	for (int i = 120; i <= 300; i += 30)
		b[n++] = i;
	return n;
}

int health_stats_init(struct health *h)
{
	static const char *const policy[] = {"traffic_policy", NULL};
	static const char *const op[] = {"op", NULL};
	static const char *const phase[] = {"phase", NULL};
	static const char *const op_errno[] = {"op", "errno", NULL};
	static const char *const vs[] = {"namespace", "service", "port_name", "vip", NULL};
	static const char *const vs_dir[] = {"namespace", "service",   "port_name",
					     "vip",	  "direction", NULL};
	double sync_b[15], prog_b[96];
	size_t n_prog = health_programming_buckets(prog_b);
	const struct {
		struct health_metric **slot;
		const char *name, *help;
		enum health_metric_type type;
		const char *const *labels;
		const double *buckets;
		size_t n_buckets;
	} defs[] = {
	    {&h->m_sync_duration, "kubeproxy_sync_proxy_rules_duration_seconds",
	     "SyncProxyRules latency in seconds", HEALTH_METRIC_HISTOGRAM, NULL, sync_b,
	     ARRAY_SIZE(sync_b)},
	    {&h->m_sync_last, "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
	     "The last time proxy rules were successfully synced", HEALTH_METRIC_GAUGE, NULL, NULL,
	     0},
	    {&h->m_sync_phase, "kipvs_sync_phase_duration_seconds",
	     "Time each sync spent per phase (decode, plan, read, diff, ipvs, vips, nftables, "
	     "conntrack, record)",
	     HEALTH_METRIC_HISTOGRAM, phase, sync_b, ARRAY_SIZE(sync_b)},
	    {&h->m_last_queued, "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
	     "The last time a sync of proxy rules was queued", HEALTH_METRIC_GAUGE, NULL, NULL, 0},
	    {&h->m_programming, "kubeproxy_network_programming_duration_seconds",
	     "In Cluster Network Programming Latency in seconds", HEALTH_METRIC_HISTOGRAM, NULL,
	     prog_b, n_prog},
	    {&h->m_changes_pending[HEALTH_CHANGE_SERVICE],
	     "kubeproxy_sync_proxy_rules_service_changes_pending",
	     "Pending proxy rules Service changes", HEALTH_METRIC_GAUGE, NULL, NULL, 0},
	    {&h->m_changes_total[HEALTH_CHANGE_SERVICE],
	     "kubeproxy_sync_proxy_rules_service_changes_total",
	     "Cumulative proxy rules Service changes", HEALTH_METRIC_COUNTER, NULL, NULL, 0},
	    {&h->m_changes_pending[HEALTH_CHANGE_ENDPOINTS],
	     "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
	     "Pending proxy rules Endpoint changes", HEALTH_METRIC_GAUGE, NULL, NULL, 0},
	    {&h->m_changes_total[HEALTH_CHANGE_ENDPOINTS],
	     "kubeproxy_sync_proxy_rules_endpoint_changes_total",
	     "Cumulative proxy rules Endpoint changes", HEALTH_METRIC_COUNTER, NULL, NULL, 0},
	    /* A gauge despite its name, as in kube-proxy. */
	    {&h->m_no_local, "kubeproxy_sync_proxy_rules_no_local_endpoints_total",
	     "Number of services with a Local traffic policy and no endpoints", HEALTH_METRIC_GAUGE,
	     policy, NULL, 0},
	    {&h->m_nl_ops, "kipvs_netlink_operations_total",
	     "IPVS netlink operations sent, by kind", HEALTH_METRIC_COUNTER, op, NULL, 0},
	    {&h->m_nl_errors, "kipvs_netlink_errors_total",
	     "IPVS netlink operations that failed, by kind and errno", HEALTH_METRIC_COUNTER,
	     op_errno, NULL, 0},
	    {&h->m_draining, "kipvs_draining_real_servers",
	     "Real servers at weight 0 kept until their connections end", HEALTH_METRIC_GAUGE, NULL,
	     NULL, 0},
	    {&h->m_vs_conns, "kipvs_virtual_server_connections_total",
	     "Connections scheduled by the virtual server (kernel counter)", HEALTH_METRIC_COUNTER,
	     vs, NULL, 0},
	    {&h->m_vs_packets, "kipvs_virtual_server_packets_total",
	     "Packets through the virtual server by direction (kernel counter)",
	     HEALTH_METRIC_COUNTER, vs_dir, NULL, 0},
	    {&h->m_vs_bytes, "kipvs_virtual_server_bytes_total",
	     "Bytes through the virtual server by direction (kernel counter)",
	     HEALTH_METRIC_COUNTER, vs_dir, NULL, 0},
	};
	int r = 0;

	health_sync_buckets(sync_b, ARRAY_SIZE(sync_b));
	/* Every family is registered, in this order (the /metrics order), before any failure. */
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++) {
		*defs[i].slot =
		    health_metrics_add(h->metrics, defs[i].name, defs[i].help, defs[i].type,
				       defs[i].labels, defs[i].buckets, defs[i].n_buckets);
		if (!*defs[i].slot)
			r = -ENOMEM;
	}
	return r;
}

void health_sync_phases_observe(struct health *h, const struct sync_phases *ph)
{
	for (int p = 0; p < _SYNC_PHASE_MAX; p++) {
		const char *labels[] = {sync_phase_to_string((enum sync_phase)p)};

		(void)health_metric_observe(h->m_sync_phase, labels, ph->ms[p] / 1e3);
	}
}

void health_no_local_endpoints_set(struct health *h, size_t internal, size_t external)
{
	const char *in[] = {"internal"}, *ex[] = {"external"};

	(void)health_metric_set(h->m_no_local, in, (double)internal);
	(void)health_metric_set(h->m_no_local, ex, (double)external);
}

void health_netlink_op(struct health *h, const char *op, int err)
{
	const char *ops[] = {op};

	(void)health_metric_add(h->m_nl_ops, ops, 1);
	if (err < 0) {
		const char *name = strerrorname_np(-err);
		char num[16];
		const char *labels[2] = {op, name};

		if (!name) {
			snprintf(num, sizeof(num), "%d", -err);
			labels[1] = num;
		}
		(void)health_metric_add(h->m_nl_errors, labels, 1);
	}
}

void health_draining_set(struct health *h, size_t n)
{
	(void)health_metric_set(h->m_draining, NULL, (double)n);
}

void health_network_programming_observe(struct health *h, int64_t trigger_ns, int64_t applied_ns)
{
	if (trigger_ns <= 0 || trigger_ns > applied_ns)
		return;
	(void)health_metric_observe(h->m_programming, NULL,
				    (double)(applied_ns - trigger_ns) / 1e9);
}

static int health_vs_stats_put(struct health *h, const struct health_vs_stats *st)
{
	char addr[NET_ADDR_STRLEN], vip[NET_ADDR_STRLEN + 8];
	const char *proto = st->proto == KUBE_PROTO_UDP	   ? "udp"
			    : st->proto == KUBE_PROTO_SCTP ? "sctp"
							   : "tcp";
	const char *in[5], *out[5];
	int r;

	net_addr_format_port(&st->addr, st->port, addr);
	snprintf(vip, sizeof(vip), "%s/%s", addr, proto);
	in[0] = out[0] = st->svc_namespace ? st->svc_namespace : "";
	in[1] = out[1] = st->svc_name ? st->svc_name : "";
	in[2] = out[2] = st->port_name ? st->port_name : "";
	in[3] = out[3] = vip;
	in[4] = "in";
	out[4] = "out";
	r = health_metric_set_u64(h->m_vs_conns, in, st->conns);
	if (r == 0)
		r = health_metric_set_u64(h->m_vs_packets, in, st->inpkts);
	if (r == 0)
		r = health_metric_set_u64(h->m_vs_packets, out, st->outpkts);
	if (r == 0)
		r = health_metric_set_u64(h->m_vs_bytes, in, st->inbytes);
	if (r == 0)
		r = health_metric_set_u64(h->m_vs_bytes, out, st->outbytes);
	return r;
}

void health_vs_stats_clear(struct health *h)
{
	health_metric_clear(h->m_vs_conns);
	health_metric_clear(h->m_vs_packets);
	health_metric_clear(h->m_vs_bytes);
}

int health_vs_stats_set(struct health *h, const struct health_vs_stats *stats, size_t n)
{
	health_vs_stats_clear(h);
	for (size_t i = 0; i < n; i++) {
		int r = health_vs_stats_put(h, &stats[i]);

		if (r < 0) {
			health_vs_stats_clear(h);
			return r;
		}
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the packet-path sets (lib/plan_fw.c): one table-driven case per rule, from
 * hand-made virtual servers and Services to the expected elements written as text; plus the
 * element diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube_cache.h"
#include "kube_model.h"
#include "net_addr.h"
#include "plan.h"
#include "plan_fw.h"

#define T_MAX 8
#define TCP KUBE_PROTO_TCP
#define UDP KUBE_PROTO_UDP

struct t_vs {
	enum plan_vs_kind kind; /* the list ends at addr NULL */
	const char *addr;
	enum kube_proto proto;
	uint16_t port;
	const char *svc;	  /* "ns/name" */
	const char *dests[T_MAX]; /* "addr:port" (IPv4) */
};

struct t_svc {
	const char *ns, *name; /* name NULL ends the list */
	enum kube_traffic_policy etp;
	const char *ranges[T_MAX];
	uint16_t hcnp;
};

struct t_case {
	const char *name;
	struct t_svc svcs[T_MAX];
	struct t_vs vs[T_MAX];
	const char *node_addrs[T_MAX];
	const char *want; /* one element per line, sorted as plan_fw sorts them */
};

static struct net_addr t_addr(const char *text)
{
	struct net_addr a;

	if (net_addr_parse(text, &a) < 0)
		fail_msg("test bug: bad address %s", text);
	return a;
}

static char *t_strdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static struct kube_cache *t_cache(const struct t_svc *svcs)
{
	struct kube_cache *c = kube_cache_new();

	assert_non_null(c);
	for (size_t i = 0; i < T_MAX && svcs[i].name; i++) {
		const struct t_svc *t = &svcs[i];
		struct kube_service *svc = calloc(1, sizeof(*svc));
		size_t n = 0;

		assert_non_null(svc);
		svc->meta.namespace = t_strdup(t->ns);
		svc->meta.name = t_strdup(t->name);
		svc->meta.uid = t_strdup(t->name);
		svc->meta.resource_version = t_strdup("1");
		svc->external_policy = t->etp;
		svc->health_check_node_port = t->hcnp;
		while (n < T_MAX && t->ranges[n])
			n++;
		if (n) {
			svc->lb_source_ranges = calloc(n, sizeof(*svc->lb_source_ranges));
			assert_non_null(svc->lb_source_ranges);
			for (size_t k = 0; k < n; k++)
				assert_int_equal(
				    net_prefix_parse(t->ranges[k], &svc->lb_source_ranges[k]), 0);
			svc->n_lb_source_ranges = n;
		}
		assert_true(kube_cache_put_service(c, svc) >= 0);
	}
	return c;
}

static void t_plan(const struct t_vs *tv, struct plan_table *ret)
{
	size_t n = 0;

	while (n < T_MAX && tv[n].addr)
		n++;
	ret->vs = calloc(n ? n : 1, sizeof(*ret->vs));
	assert_non_null(ret->vs);
	ret->n_vs = n;
	for (size_t i = 0; i < n; i++) {
		struct plan_vs *vs = &ret->vs[i];
		size_t nd = 0;
		char buf[64];

		vs->addr = t_addr(tv[i].addr);
		vs->proto = tv[i].proto;
		vs->port = tv[i].port;
		vs->kind = tv[i].kind;
		snprintf(vs->scheduler, sizeof(vs->scheduler), "rr");
		if (tv[i].svc) {
			const char *slash = strchr(tv[i].svc, '/');

			assert_non_null(slash);
			vs->svc_namespace = strndup(tv[i].svc, (size_t)(slash - tv[i].svc));
			vs->svc_name = t_strdup(slash + 1);
		}
		while (nd < T_MAX && tv[i].dests[nd])
			nd++;
		vs->dests = calloc(nd ? nd : 1, sizeof(*vs->dests));
		assert_non_null(vs->dests);
		vs->n_dests = nd;
		for (size_t k = 0; k < nd; k++) {
			char *colon;

			snprintf(buf, sizeof(buf), "%s", tv[i].dests[k]);
			colon = strrchr(buf, ':');
			assert_non_null(colon);
			*colon = '\0';
			vs->dests[k].addr = t_addr(buf);
			vs->dests[k].port = (uint16_t)atoi(colon + 1);
			vs->dests[k].weight = 1;
		}
	}
}

static int t_vs_cmp(const void *a, const void *b)
{
	return plan_vs_key_compare(a, b);
}

/* "set addr proto port [addr2[/len]]" with the fields the set uses. */
static void t_write(const struct plan_fw *fw, char *out, size_t size)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < fw->n_elems; i++) {
		const struct plan_fw_elem *e = &fw->elems[i];
		char a[NET_ADDR_STRLEN] = "-", a2[NET_ADDR_STRLEN] = "";

		if (e->addr.family)
			net_addr_format(&e->addr, a);
		if (e->addr2.family)
			net_addr_format(&e->addr2, a2);
		off += (size_t)snprintf(out + off, size - off, "%s %s",
					plan_fw_set_to_string(e->set), a);
		if (e->set != PLAN_FW_SET_VIP)
			off += (size_t)snprintf(out + off, size - off, " %s %u",
						kube_proto_to_string(e->proto), e->port);
		if (e->addr2.family)
			off += (size_t)snprintf(out + off, size - off, " %s", a2);
		if (e->set == PLAN_FW_SET_LB_SOURCE)
			off += (size_t)snprintf(out + off, size - off, "/%u", e->prefix_len);
		off += (size_t)snprintf(out + off, size - off, "\n");
		assert_true(off < size);
	}
}

static const struct t_case cases[] = {
    {
	.name = "clusterip: set, vip, hairpin per real server",
	.svcs = {{"default", "web"}},
	.vs = {{PLAN_VS_CLUSTER_IP,
		"10.96.0.10",
		TCP,
		80,
		"default/web",
		{"10.1.0.5:8080", "10.1.0.6:8080"}}},
	.want = "vip 10.96.0.10\n"
		"cluster_ip 10.96.0.10 TCP 80\n"
		"hairpin 10.1.0.5 TCP 8080 10.1.0.5\n"
		"hairpin 10.1.0.6 TCP 8080 10.1.0.6\n",
    },
    {
	.name = "nodeport cluster policy: one element per node address, no vip",
	.svcs = {{"default", "np"}},
	.vs = {{PLAN_VS_NODE_PORT, "192.168.1.2", UDP, 30053, "default/np", {"10.1.0.7:53"}},
	       {PLAN_VS_NODE_PORT, "192.168.1.3", UDP, 30053, "default/np", {"10.1.0.7:53"}}},
	.want = "node_port 192.168.1.2 UDP 30053\n"
		"node_port 192.168.1.3 UDP 30053\n"
		"hairpin 10.1.0.7 UDP 53 10.1.0.7\n",
    },
    {
	.name = "nodeport local policy without local endpoint: local + no_local",
	.svcs = {{"default", "np", KUBE_POLICY_LOCAL, {NULL}, 31000}},
	.vs = {{PLAN_VS_NODE_PORT, "192.168.1.2", TCP, 30080, "default/np", {NULL}}},
	.want = "node_port_local 192.168.1.2 TCP 30080\n"
		"node_port_no_local 192.168.1.2 TCP 30080\n"
		"hc_node_port - TCP 31000\n",
    },
    {
	/* Service vip's port is np's nodePort: its addresses must not match np's rules. */
	.name = "service addresses on another service's nodePort stay out of the nodeport sets",
	.svcs = {{"default", "np", KUBE_POLICY_LOCAL}, {"default", "vip", KUBE_POLICY_LOCAL}},
	.vs = {{PLAN_VS_NODE_PORT, "192.168.1.2", TCP, 30080, "default/np", {NULL}},
	       {PLAN_VS_NODE_PORT, "fd00:49::2", TCP, 30080, "default/np", {NULL}},
	       {PLAN_VS_CLUSTER_IP, "10.96.0.80", TCP, 30080, "default/vip", {NULL}},
	       {PLAN_VS_EXTERNAL_IP, "203.0.113.80", TCP, 30080, "default/vip", {"10.1.0.9:80"}},
	       {PLAN_VS_LOAD_BALANCER, "fd00:200::81", TCP, 30080, "default/vip", {"10.1.0.9:80"}}},
	.node_addrs = {"192.168.1.2", "fd00:49::2"},
	.want = "vip 10.96.0.80\n"
		"vip 203.0.113.80\n"
		"vip fd00:200::81\n"
		"cluster_ip 10.96.0.80 TCP 30080\n"
		"external_local 203.0.113.80 TCP 30080\n"
		"external_local fd00:200::81 TCP 30080\n"
		"node_port_local 192.168.1.2 TCP 30080\n"
		"node_port_local fd00:49::2 TCP 30080\n"
		"node_port_no_local 192.168.1.2 TCP 30080\n"
		"node_port_no_local fd00:49::2 TCP 30080\n"
		"hairpin 10.1.0.9 TCP 80 10.1.0.9\n",
    },
    {
	.name = "lb local policy with local endpoint: no drop",
	.svcs = {{"default", "lb", KUBE_POLICY_LOCAL, {NULL}, 31001}},
	.vs = {{PLAN_VS_LOAD_BALANCER, "203.0.113.5", TCP, 443, "default/lb", {"10.1.0.9:8443"}}},
	.want = "vip 203.0.113.5\n"
		"external_local 203.0.113.5 TCP 443\n"
		"hairpin 10.1.0.9 TCP 8443 10.1.0.9\n"
		"hc_node_port - TCP 31001\n",
    },
    {
	.name = "externalip local policy, no endpoint: dropped",
	.svcs = {{"default", "ext", KUBE_POLICY_LOCAL}},
	.vs = {{PLAN_VS_EXTERNAL_IP, "198.51.100.1", TCP, 80, "default/ext", {NULL}}},
	.want = "vip 198.51.100.1\n"
		"external_local 198.51.100.1 TCP 80\n"
		"no_local 198.51.100.1 TCP 80\n",
    },
    {
	.name = "lb source ranges: only the VIP's family; filtered",
	.svcs = {{"default",
		  "lb",
		  KUBE_POLICY_CLUSTER,
		  {"192.0.2.0/24", "2001:db8::/32", "10.0.0.0/8"}}},
	.vs = {{PLAN_VS_LOAD_BALANCER, "203.0.113.5", TCP, 443, "default/lb", {NULL}}},
	.want = "vip 203.0.113.5\n"
		"external 203.0.113.5 TCP 443\n"
		"lb_filtered 203.0.113.5 TCP 443\n"
		"lb_source 203.0.113.5 TCP 443 10.0.0.0/8\n"
		"lb_source 203.0.113.5 TCP 443 192.0.2.0/24\n",
    },
    {
	.name = "lb source ranges of the other family only: filtered, nothing allowed",
	.svcs = {{"default", "lb", KUBE_POLICY_CLUSTER, {"2001:db8::/32"}}},
	.vs = {{PLAN_VS_LOAD_BALANCER, "203.0.113.5", TCP, 443, "default/lb", {NULL}}},
	.want = "vip 203.0.113.5\n"
		"external 203.0.113.5 TCP 443\n"
		"lb_filtered 203.0.113.5 TCP 443\n",
    },
    {
	.name = "lb source range holding a node address: the vip is an allowed source too",
	.svcs = {{"default", "lb", KUBE_POLICY_CLUSTER, {"192.168.1.0/24", "198.51.100.0/24"}}},
	.vs = {{PLAN_VS_LOAD_BALANCER, "203.0.113.5", TCP, 443, "default/lb", {NULL}}},
	.node_addrs = {"fd00:49::2", "192.168.1.2"},
	.want = "vip 203.0.113.5\n"
		"external 203.0.113.5 TCP 443\n"
		"lb_filtered 203.0.113.5 TCP 443\n"
		"lb_source 203.0.113.5 TCP 443 192.168.1.0/24\n"
		"lb_source 203.0.113.5 TCP 443 198.51.100.0/24\n"
		"lb_source 203.0.113.5 TCP 443 203.0.113.5/32\n",
    },
    {
	.name = "lb source ranges without a node address: the vip is no allowed source",
	.svcs = {{"default", "lb", KUBE_POLICY_CLUSTER, {"198.51.100.0/24"}}},
	.vs = {{PLAN_VS_LOAD_BALANCER, "fd00:200::5", TCP, 443, "default/lb", {NULL}},
	       {PLAN_VS_LOAD_BALANCER, "203.0.113.5", TCP, 443, "default/lb", {NULL}}},
	.node_addrs = {"192.168.1.2", "fd00:49::2"},
	.want = "vip 203.0.113.5\n"
		"vip fd00:200::5\n"
		"external 203.0.113.5 TCP 443\n"
		"external fd00:200::5 TCP 443\n"
		"lb_filtered 203.0.113.5 TCP 443\n"
		"lb_filtered fd00:200::5 TCP 443\n"
		"lb_source 203.0.113.5 TCP 443 198.51.100.0/24\n",
    },
    {
	.name = "node address in a range of the other family only: nobody allowed",
	.svcs = {{"default", "lb", KUBE_POLICY_CLUSTER, {"fd00:49::/64"}}},
	.vs = {{PLAN_VS_LOAD_BALANCER, "203.0.113.5", TCP, 443, "default/lb", {NULL}},
	       {PLAN_VS_LOAD_BALANCER, "fd00:200::5", TCP, 443, "default/lb", {NULL}}},
	.node_addrs = {"192.168.1.2", "fd00:49::2"},
	.want = "vip 203.0.113.5\n"
		"vip fd00:200::5\n"
		"external 203.0.113.5 TCP 443\n"
		"external fd00:200::5 TCP 443\n"
		"lb_filtered 203.0.113.5 TCP 443\n"
		"lb_filtered fd00:200::5 TCP 443\n"
		"lb_source fd00:200::5 TCP 443 fd00:49::/64\n"
		"lb_source fd00:200::5 TCP 443 fd00:200::5/128\n",
    },
    {
	.name = "externalip that is a node address is no vip",
	.svcs = {{"default", "ext"}},
	.vs = {{PLAN_VS_EXTERNAL_IP, "192.168.1.2", TCP, 8080, "default/ext", {NULL}}},
	.node_addrs = {"192.168.1.2"},
	.want = "external 192.168.1.2 TCP 8080\n",
    },
    {
	.name = "service not cached: cluster policy, no ranges",
	.vs = {{PLAN_VS_LOAD_BALANCER, "203.0.113.6", TCP, 80, "default/gone", {NULL}}},
	.want = "vip 203.0.113.6\n"
		"external 203.0.113.6 TCP 80\n",
    },
    {
	.name = "ipv6 clusterip; shared real server across services deduplicated",
	.svcs = {{"default", "a"}, {"default", "b"}},
	.vs = {{PLAN_VS_CLUSTER_IP, "fd00::10", TCP, 80, "default/a", {NULL}},
	       {PLAN_VS_CLUSTER_IP, "10.96.0.1", TCP, 80, "default/a", {"10.1.0.5:80"}},
	       {PLAN_VS_CLUSTER_IP, "10.96.0.2", TCP, 80, "default/b", {"10.1.0.5:80"}}},
	.want = "vip 10.96.0.1\n"
		"vip 10.96.0.2\n"
		"vip fd00::10\n"
		"cluster_ip 10.96.0.1 TCP 80\n"
		"cluster_ip 10.96.0.2 TCP 80\n"
		"cluster_ip fd00::10 TCP 80\n"
		"hairpin 10.1.0.5 TCP 80 10.1.0.5\n",
    },
    {
	.name = "empty plan",
	.want = "",
    },
};

static void test_build_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct t_case *c = &cases[i];
		struct kube_cache *cache = t_cache(c->svcs);
		struct plan_table plan = {0};
		struct net_addr nodes[T_MAX];
		size_t n_nodes = 0;
		struct plan_fw fw = {0};
		char got[4096];
		int r;

		while (n_nodes < T_MAX && c->node_addrs[n_nodes]) {
			nodes[n_nodes] = t_addr(c->node_addrs[n_nodes]);
			n_nodes++;
		}
		t_plan(c->vs, &plan);
		struct plan_fw_input in = {
		    .plan = &plan, .cache = cache, .node_addrs = nodes, .n_node_addrs = n_nodes};
		r = plan_fw_build(&in, &fw);
		t_write(&fw, got, sizeof(got));
		if (r != (int)fw.n_elems || strcmp(got, c->want) != 0)
			fail_msg("case \"%s\": r=%d\n--- want\n%s--- got\n%s", c->name, r, c->want,
				 got);
		plan_fw_clear(&fw);
		plan_table_clear(&plan);
		kube_cache_free(cache);
	}
}

static void test_diff(void **state)
{
	static const struct t_vs before[] = {
	    {PLAN_VS_CLUSTER_IP, "10.96.0.1", TCP, 80, "d/a", {"10.1.0.5:80"}},
	    {PLAN_VS_CLUSTER_IP, "10.96.0.2", TCP, 80, "d/b", {NULL}},
	    {0}};
	static const struct t_vs after[] = {
	    {PLAN_VS_CLUSTER_IP, "10.96.0.1", TCP, 80, "d/a", {"10.1.0.6:80"}},
	    {PLAN_VS_CLUSTER_IP, "10.96.0.3", TCP, 80, "d/c", {NULL}},
	    {0}};
	struct plan_table p1 = {0}, p2 = {0};
	struct plan_fw f1 = {0}, f2 = {0}, add = {0}, del = {0}, none = {0};
	char got[2048];

	(void)state;
	t_plan(before, &p1);
	t_plan(after, &p2);
	struct plan_fw_input in1 = {.plan = &p1}, in2 = {.plan = &p2};
	assert_int_equal(plan_fw_build(&in1, &f1), 5);
	assert_int_equal(plan_fw_build(&in2, &f2), 5);
	assert_int_equal(plan_fw_diff(&f1, &f2, &add, &del), 0);
	t_write(&add, got, sizeof(got));
	assert_string_equal(got, "vip 10.96.0.3\n"
				 "cluster_ip 10.96.0.3 TCP 80\n"
				 "hairpin 10.1.0.6 TCP 80 10.1.0.6\n");
	t_write(&del, got, sizeof(got));
	assert_string_equal(got, "vip 10.96.0.2\n"
				 "cluster_ip 10.96.0.2 TCP 80\n"
				 "hairpin 10.1.0.5 TCP 80 10.1.0.5\n");
	plan_fw_clear(&add);
	plan_fw_clear(&del);
	/* Equal tables: nothing to do; NULL outputs are allowed. */
	assert_int_equal(plan_fw_diff(&f2, &f2, &add, NULL), 0);
	assert_int_equal(add.n_elems, 0);
	/* From nothing: everything is an add. */
	assert_int_equal(plan_fw_diff(&none, &f2, &add, &del), 0);
	assert_int_equal(add.n_elems, f2.n_elems);
	assert_int_equal(del.n_elems, 0);
	plan_fw_clear(&add);
	plan_fw_clear(&del);
	plan_fw_clear(&f1);
	plan_fw_clear(&f2);
	plan_table_clear(&p1);
	plan_table_clear(&p2);
}

struct t_udp_case {
	const char *name;
	struct t_vs before[T_MAX], after[T_MAX];
	const char *want; /* "addr:port[ gone]" lines */
};

static const struct t_udp_case udp_cases[] = {
    {"unchanged: nothing",
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}}},
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}}},
     ""},
    {"a real server removed",
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53", "10.1.0.6:53"}}},
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.6:53"}}},
     "10.96.0.10:53\n"},
    {"a real server replaced",
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}}},
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.7:53"}}},
     "10.96.0.10:53\n"},
    {"a real server added to others: nothing",
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}}},
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53", "10.1.0.6:53"}}},
     ""},
    {"first real server",
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {NULL}}},
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}}},
     "10.96.0.10:53\n"},
    {"new service with real servers; new empty one: nothing",
     {{0}},
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}},
      {PLAN_VS_CLUSTER_IP, "10.96.0.11", UDP, 53, "d/e", {NULL}}},
     "10.96.0.10:53\n"},
    {"gone with real servers; gone empty: nothing",
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}},
      {PLAN_VS_CLUSTER_IP, "10.96.0.11", UDP, 53, "d/e", {NULL}}},
     {{0}},
     "10.96.0.10:53 gone\n"},
    {"tcp is never reported",
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", TCP, 80, "d/web", {"10.1.0.5:80"}}},
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", TCP, 80, "d/web", {"10.1.0.6:80"}}},
     ""},
    {"same port, other protocol and address are separate keys",
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", TCP, 53, "d/dns", {"10.1.0.5:53"}},
      {PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}}},
     {{PLAN_VS_CLUSTER_IP, "10.96.0.10", TCP, 53, "d/dns", {"10.1.0.6:53"}},
      {PLAN_VS_CLUSTER_IP, "10.96.0.10", UDP, 53, "d/dns", {"10.1.0.5:53"}},
      {PLAN_VS_CLUSTER_IP, "10.96.0.12", UDP, 53, "d/x", {"10.1.0.9:53"}}},
     "10.96.0.12:53\n"},
};

struct t_udp_out {
	char buf[1024];
	size_t off;
};

static void t_udp_on(const struct net_addr *addr, uint16_t port, const struct plan_vs *now,
		     void *userdata)
{
	struct t_udp_out *o = userdata;
	char a[NET_ADDR_STRLEN];

	o->off += (size_t)snprintf(o->buf + o->off, sizeof(o->buf) - o->off, "%s:%u%s\n",
				   net_addr_format(addr, a), port, now ? "" : " gone");
}

static void test_udp_stale(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(udp_cases) / sizeof(udp_cases[0]); i++) {
		const struct t_udp_case *c = &udp_cases[i];
		struct plan_table before = {0}, after = {0};
		struct t_udp_out out = {.buf = ""};
		size_t n, lines = 0;

		t_plan(c->before, &before);
		t_plan(c->after, &after);
		qsort(before.vs, before.n_vs, sizeof(*before.vs), t_vs_cmp);
		qsort(after.vs, after.n_vs, sizeof(*after.vs), t_vs_cmp);
		n = plan_fw_udp_stale(&before, &after, t_udp_on, &out);
		for (const char *p = c->want; *p; p++)
			lines += *p == '\n';
		if (strcmp(out.buf, c->want) != 0 || n != lines)
			fail_msg("case \"%s\": n=%zu\n--- want\n%s--- got\n%s", c->name, n, c->want,
				 out.buf);
		plan_table_clear(&before);
		plan_table_clear(&after);
	}
}

static void test_set_names(void **state)
{
	(void)state;
	for (int s = 0; s < _PLAN_FW_SET_MAX; s++)
		if (strcmp(plan_fw_set_to_string((enum plan_fw_set)s), "unknown") == 0)
			fail_msg("set %d has no name", s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_cases),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_udp_stale),
	    cmocka_unit_test(test_set_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

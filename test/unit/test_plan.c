/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the plan (lib/plan*.c): one table-driven case per rule of the translation,
 * built from hand-made model structs in a cache (no decoder), compared as ipvsadm -Sn text
 * written by hand; plus the node-address rule, conflicts, notes and incremental replanning.
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

#include "cleanup.h"
#include "kube_cache.h"
#include "kube_model.h"
#include "net_addr.h"
#include "plan.h"
#include "test_plan_util.h"

/* ---- Hand-built objects ---- */

#define T_MAX 8
#define TCP KUBE_PROTO_TCP
#define UDP KUBE_PROTO_UDP
#define SCTP KUBE_PROTO_SCTP
#define LOCAL KUBE_POLICY_LOCAL

struct t_port {
	const char *name; /* NULL ends the list; "" is an unnamed port */
	enum kube_proto proto;
	uint16_t port;
	uint16_t node_port;
};

struct t_lb {
	const char *ip;
	bool proxy;
};

struct t_svc {
	const char *ns, *name; /* name NULL ends the list */
	enum kube_svc_type type;
	const char *cluster_ips[2];
	bool headless;
	struct t_port ports[T_MAX];
	const char *external_ips[T_MAX];
	struct t_lb lb[T_MAX];
	const char *ranges[T_MAX]; /* loadBalancerSourceRanges */
	bool affinity;
	uint32_t timeout; /* 0: the decoder's default */
	enum kube_traffic_policy etp, itp;
	const char *proxy_label;
	bool headless_label;
};

struct t_ep {
	const char *addr; /* NULL ends the list */
	/* Conditions after the decoder's defaults: 'r' ready, 's' serving, 't' terminating;
	 * NULL means "rs" (a plain ready endpoint). */
	const char *cond;
	const char *node;
};

struct t_slice {
	const char *ns, *name; /* name NULL ends the list */
	const char *svc; /* the kubernetes.io/service-name label; NULL when absent */
	int family; /* AF_INET, AF_INET6, or 0 standing for an FQDN slice */
	struct t_port ports[T_MAX];
	struct t_ep eps[T_MAX];
};

static char *t_strdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	assert_true(!s || d);
	return d;
}

static struct net_addr t_addr(const char *text)
{
	struct net_addr a;

	if (net_addr_parse(text, &a) < 0)
		fail_msg("test bug: bad address %s", text);
	return a;
}

static void t_meta(struct kube_meta *m, const char *ns, const char *name, const char *rv)
{
	m->namespace = t_strdup(ns ? ns : "default");
	m->name = t_strdup(name);
	m->uid = t_strdup(name);
	m->resource_version = t_strdup(rv);
}

static size_t t_count_ports(const struct t_port *p)
{
	size_t n = 0;

	while (n < T_MAX && p[n].name)
		n++;
	return n;
}

static struct kube_service *t_service(const struct t_svc *t, const char *rv)
{
	struct kube_service *svc = calloc(1, sizeof(*svc));
	size_t n;

	assert_non_null(svc);
	t_meta(&svc->meta, t->ns, t->name, rv);
	svc->type = t->type;
	svc->headless = t->headless;
	for (n = 0; n < 2 && t->cluster_ips[n]; n++)
		;
	if (n > 0) {
		svc->cluster_ips = calloc(n, sizeof(*svc->cluster_ips));
		assert_non_null(svc->cluster_ips);
		for (size_t i = 0; i < n; i++) {
			svc->cluster_ips[i] = t_addr(t->cluster_ips[i]);
			svc->ip_families[i] = svc->cluster_ips[i].family;
		}
	}
	svc->n_cluster_ips = svc->n_ip_families = n;
	n = t_count_ports(t->ports);
	if (n > 0) {
		svc->ports = calloc(n, sizeof(*svc->ports));
		assert_non_null(svc->ports);
		for (size_t i = 0; i < n; i++) {
			svc->ports[i].name = t_strdup(t->ports[i].name);
			svc->ports[i].proto = t->ports[i].proto;
			svc->ports[i].port = t->ports[i].port;
			svc->ports[i].node_port = t->ports[i].node_port;
		}
	}
	svc->n_ports = n;
	for (n = 0; n < T_MAX && t->external_ips[n]; n++)
		;
	if (n > 0) {
		svc->external_ips = calloc(n, sizeof(*svc->external_ips));
		assert_non_null(svc->external_ips);
		for (size_t i = 0; i < n; i++)
			svc->external_ips[i] = t_addr(t->external_ips[i]);
	}
	svc->n_external_ips = n;
	for (n = 0; n < T_MAX && t->lb[n].ip; n++)
		;
	if (n > 0) {
		svc->lb_ingress = calloc(n, sizeof(*svc->lb_ingress));
		assert_non_null(svc->lb_ingress);
		for (size_t i = 0; i < n; i++) {
			svc->lb_ingress[i].ip = t_addr(t->lb[i].ip);
			svc->lb_ingress[i].ip_mode_proxy = t->lb[i].proxy;
		}
	}
	svc->n_lb_ingress = n;
	for (n = 0; n < T_MAX && t->ranges[n]; n++)
		;
	if (n > 0) {
		svc->lb_source_ranges = calloc(n, sizeof(*svc->lb_source_ranges));
		assert_non_null(svc->lb_source_ranges);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(net_prefix_parse(t->ranges[i], &svc->lb_source_ranges[i]), 0);
	}
	svc->n_lb_source_ranges = n;
	svc->affinity_client_ip = t->affinity;
	svc->affinity_timeout = t->timeout ? t->timeout : KUBE_AFFINITY_TIMEOUT_DEFAULT;
	svc->external_policy = t->etp;
	svc->internal_policy = t->itp;
	svc->service_proxy_name = t_strdup(t->proxy_label);
	svc->label_headless = t->headless_label;
	return svc;
}

static struct kube_endpoint_slice *t_slice(const struct t_slice *t)
{
	struct kube_endpoint_slice *s = calloc(1, sizeof(*s));
	size_t n;

	assert_non_null(s);
	t_meta(&s->meta, t->ns, t->name, "1");
	s->service_name = t_strdup(t->svc);
	s->family = t->family;
	n = t_count_ports(t->ports);
	if (n > 0) {
		s->ports = calloc(n, sizeof(*s->ports));
		assert_non_null(s->ports);
		for (size_t i = 0; i < n; i++) {
			s->ports[i].name = t_strdup(t->ports[i].name);
			s->ports[i].proto = t->ports[i].proto;
			s->ports[i].port = t->ports[i].port;
		}
	}
	s->n_ports = n;
	for (n = 0; n < T_MAX && t->eps[n].addr; n++)
		;
	if (n > 0) {
		s->endpoints = calloc(n, sizeof(*s->endpoints));
		assert_non_null(s->endpoints);
		for (size_t i = 0; i < n; i++) {
			const char *c = t->eps[i].cond ? t->eps[i].cond : "rs";

			/* An FQDN slice would hold names; any address will do for the test. */
			s->endpoints[i].addr = t_addr(t->eps[i].addr);
			s->endpoints[i].ready = strchr(c, 'r') != NULL;
			s->endpoints[i].serving = strchr(c, 's') != NULL;
			s->endpoints[i].terminating = strchr(c, 't') != NULL;
			s->endpoints[i].node_name = t_strdup(t->eps[i].node);
		}
	}
	s->n_endpoints = n;
	return s;
}

/* ---- Running a case ---- */

static int t_line_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of text in place (notes come in cache order, which is unspecified). */
static char *t_sort_lines(const char *text)
{
	char *copy = t_strdup(text), *save = NULL, *lines[256], *out;
	size_t n = 0, len = strlen(text) + 1, off = 0;

	for (char *l = strtok_r(copy, "\n", &save); l && n < 256; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(*lines), t_line_compare);
	out = calloc(len + 1, 1);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(out + off, "%s\n", lines[i]);
	free(copy);
	return out;
}

struct t_case {
	const char *name;
	struct t_svc svcs[5];
	struct t_slice slices[6];
	const char *node; /* this node's name */
	const char *node_ips[4];
	const char *sched;
	const char *proxy_name;
	const char *want; /* ipvsadm -Sn lines, in the plan's order */
	const char *want_notes; /* "kind Kind ns/name: detail" lines, sorted; NULL: none */
};

static struct kube_cache *t_cache_fill(const struct t_case *c)
{
	struct kube_cache *cache = kube_cache_new();

	assert_non_null(cache);
	for (size_t i = 0; i < ARRAY_SIZE(c->svcs) && c->svcs[i].name; i++)
		assert_true(kube_cache_put_service(cache, t_service(&c->svcs[i], "1")) >= 0);
	for (size_t i = 0; i < 6 && c->slices[i].name; i++)
		assert_true(kube_cache_put_slice(cache, t_slice(&c->slices[i])) >= 0);
	return cache;
}

/* Plans the whole cache and returns the ipvsadm text; notes go to notes (may be NULL). */
static char *t_plan_text(const struct kube_cache *cache, const struct t_case *c,
			 struct test_notes *notes)
{
	struct net_addr node_addrs[4];
	size_t n_addrs = 0;
	struct plan_table table = { 0 };
	char *text = NULL;
	size_t size = 0;
	FILE *out;

	for (; n_addrs < 4 && c->node_ips[n_addrs]; n_addrs++)
		node_addrs[n_addrs] = t_addr(c->node_ips[n_addrs]);
	struct plan_input in = {
		.cache = cache,
		.node_name = c->node ? c->node : "node-a",
		.node_addrs = node_addrs,
		.n_node_addrs = n_addrs,
		.scheduler = c->sched,
		.proxy_name = c->proxy_name,
		.note = notes ? test_notes_on_note : NULL,
		.note_userdata = notes,
	};
	int n = plan_build(&in, &table);

	if (n < 0)
		fail_msg("case %s: plan_build: %s", c->name, strerror(-n));
	assert_int_equal((size_t)n, table.n_vs);
	for (size_t i = 1; i < table.n_vs; i++)
		if (plan_vs_key_compare(&table.vs[i - 1], &table.vs[i]) >= 0)
			fail_msg("case %s: virtual servers %zu and %zu out of order", c->name, i - 1,
				 i);
	out = open_memstream(&text, &size);
	assert_non_null(out);
	assert_int_equal(plan_table_write(&table, out), 0);
	assert_int_equal(fclose(out), 0);
	plan_table_clear(&table);
	return text;
}

static void t_run_case(const struct t_case *c)
{
	struct kube_cache *cache = t_cache_fill(c);
	struct test_notes notes = { 0 };
	char *got, *got_notes, *want_notes;

	notes.stream = open_memstream(&notes.buf, &notes.size);
	assert_non_null(notes.stream);
	got = t_plan_text(cache, c, &notes);
	assert_int_equal(fclose(notes.stream), 0);
	if (strcmp(got, c->want) != 0)
		fail_msg("case %s: plan differs\n--- want\n%s--- got\n%s", c->name, c->want, got);
	got_notes = t_sort_lines(notes.buf);
	want_notes = t_sort_lines(c->want_notes ? c->want_notes : "");
	if (strcmp(got_notes, want_notes) != 0)
		fail_msg("case %s: notes differ\n--- want\n%s--- got\n%s", c->name, want_notes,
			 got_notes);
	free(got);
	free(got_notes);
	free(want_notes);
	free(notes.buf);
	cache = kube_cache_free(cache);
}

/* ---- The rules, case by case ---- */

#define EPS_WEB { { "10.1.0.5", NULL, "node-a" }, { "10.1.0.6", NULL, "node-b" } }

static const struct t_case plan_cases[] = {
	{
		.name = "ClusterIP basic",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = { { .name = "web-abc", .svc = "web", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = EPS_WEB } },
		.want = "-A -t 10.0.0.1:80 -s rr\n"
			"-a -t 10.0.0.1:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-a -t 10.0.0.1:80 -r 10.1.0.6:8080 -m -w 1\n",
	},
	{
		.name = "multi-port, named target ports whose numbers differ per pod",
		.svcs = { { .name = "kubia", .cluster_ips = { "10.111.249.153" },
			    .ports = { { "http", TCP, 80 }, { "https", TCP, 443 } } } },
		.slices = {
			{ .name = "kubia-old", .svc = "kubia", .family = AF_INET,
			  .ports = { { "http", TCP, 8080 }, { "https", TCP, 8443 } },
			  .eps = { { "10.108.1.4" }, { "10.108.2.5" } } },
			{ .name = "kubia-new", .svc = "kubia", .family = AF_INET,
			  .ports = { { "https", TCP, 8443 }, { "http", TCP, 80 } },
			  .eps = { { "10.108.2.7" } } },
		},
		.want = "-A -t 10.111.249.153:80 -s rr\n"
			"-a -t 10.111.249.153:80 -r 10.108.1.4:8080 -m -w 1\n"
			"-a -t 10.111.249.153:80 -r 10.108.2.5:8080 -m -w 1\n"
			"-a -t 10.111.249.153:80 -r 10.108.2.7:80 -m -w 1\n"
			"-A -t 10.111.249.153:443 -s rr\n"
			"-a -t 10.111.249.153:443 -r 10.108.1.4:8443 -m -w 1\n"
			"-a -t 10.111.249.153:443 -r 10.108.2.5:8443 -m -w 1\n"
			"-a -t 10.111.249.153:443 -r 10.108.2.7:8443 -m -w 1\n",
	},
	{
		.name = "NodePort on several node addresses (an IPv6 one is not of the family)",
		.svcs = { { .name = "np", .type = KUBE_SVC_NODE_PORT, .cluster_ips = { "10.0.0.2" },
			    .ports = { { "", TCP, 80, 30123 } } } },
		.slices = { { .name = "np-1", .svc = "np", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = { { "10.1.0.5" } } } },
		.node_ips = { "192.168.49.3", "192.168.49.4", "fd00::3" },
		.want = "-A -t 10.0.0.2:80 -s rr\n"
			"-a -t 10.0.0.2:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-A -t 192.168.49.3:30123 -s rr\n"
			"-a -t 192.168.49.3:30123 -r 10.1.0.5:8080 -m -w 1\n"
			"-A -t 192.168.49.4:30123 -s rr\n"
			"-a -t 192.168.49.4:30123 -r 10.1.0.5:8080 -m -w 1\n",
	},
	{
		.name = "NodePort without node addresses gets no node virtual server",
		.svcs = { { .name = "np", .type = KUBE_SVC_NODE_PORT, .cluster_ips = { "10.0.0.2" },
			    .ports = { { "", TCP, 80, 30123 } } } },
		.want = "-A -t 10.0.0.2:80 -s rr\n",
	},
	{
		.name = "ClientIP affinity, default timeout, on every virtual server",
		.svcs = { { .name = "sticky", .type = KUBE_SVC_NODE_PORT,
			    .cluster_ips = { "10.0.0.3" }, .ports = { { "", TCP, 80, 30080 } },
			    .external_ips = { "192.0.2.10" }, .affinity = true } },
		.slices = { { .name = "sticky-1", .svc = "sticky", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = { { "10.1.0.5" } } } },
		.node_ips = { "192.168.1.10" },
		.want = "-A -t 10.0.0.3:80 -s rr -p 10800\n"
			"-a -t 10.0.0.3:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-A -t 192.0.2.10:80 -s rr -p 10800\n"
			"-a -t 192.0.2.10:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-A -t 192.168.1.10:30080 -s rr -p 10800\n"
			"-a -t 192.168.1.10:30080 -r 10.1.0.5:8080 -m -w 1\n",
	},
	{
		.name = "ClientIP affinity with a custom timeout",
		.svcs = { { .name = "sticky", .cluster_ips = { "10.0.0.3" },
			    .ports = { { "", TCP, 80 } }, .affinity = true, .timeout = 60 } },
		.want = "-A -t 10.0.0.3:80 -s rr -p 60\n",
	},
	{
		.name = "serving+terminating with a ready peer drains at weight 0",
		.svcs = { { .name = "nginx-service", .cluster_ips = { "10.0.65.118" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = { { .name = "nginx-service-6tjbr", .svc = "nginx-service",
			      .family = AF_INET, .ports = { { "", TCP, 80 } },
			      .eps = { { "10.12.1.201", "st", "n1" }, { "10.12.1.202", "rs", "n1" } } } },
		.want = "-A -t 10.0.65.118:80 -s rr\n"
			"-a -t 10.0.65.118:80 -r 10.12.1.201:80 -m -w 0\n"
			"-a -t 10.0.65.118:80 -r 10.12.1.202:80 -m -w 1\n",
	},
	{
		.name = "serving+terminating without a ready peer carries at weight 1",
		.svcs = { { .name = "nginx-service", .cluster_ips = { "10.0.65.118" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = { { .name = "nginx-service-6tjbr", .svc = "nginx-service",
			      .family = AF_INET, .ports = { { "", TCP, 80 } },
			      .eps = { { "10.12.1.201", "st" }, { "10.12.1.203", "st" },
				       { "10.12.1.204", "t" } } } },
		.want = "-A -t 10.0.65.118:80 -s rr\n"
			"-a -t 10.0.65.118:80 -r 10.12.1.201:80 -m -w 1\n"
			"-a -t 10.0.65.118:80 -r 10.12.1.203:80 -m -w 1\n",
	},
	{
		.name = "not serving, and not ready without terminating, are no real servers",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = { { .name = "web-1", .svc = "web", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } },
			      .eps = { { "10.1.0.5", "t" }, { "10.1.0.6", "" },
				       { "10.1.0.7", "s" }, { "10.1.0.8", "rs" } } } },
		.want = "-A -t 10.0.0.1:80 -s rr\n"
			"-a -t 10.0.0.1:80 -r 10.1.0.8:8080 -m -w 1\n",
	},
	{
		.name = "no endpoints: the virtual server stays, empty",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = { { .name = "web-1", .svc = "web", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } } } },
		.want = "-A -t 10.0.0.1:80 -s rr\n",
	},
	{
		.name = "eTP=Local with a local endpoint: external VSs get only it",
		.svcs = { { .name = "lb", .type = KUBE_SVC_LOAD_BALANCER,
			    .cluster_ips = { "10.0.0.4" }, .ports = { { "", TCP, 80, 31000 } },
			    .lb = { { "203.0.113.140" } }, .external_ips = { "192.0.2.4" },
			    .etp = LOCAL } },
		.slices = { { .name = "lb-1", .svc = "lb", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = EPS_WEB } },
		.node = "node-a",
		.node_ips = { "192.168.1.10" },
		.want = "-A -t 10.0.0.4:80 -s rr\n"
			"-a -t 10.0.0.4:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-a -t 10.0.0.4:80 -r 10.1.0.6:8080 -m -w 1\n"
			"-A -t 192.0.2.4:80 -s rr\n"
			"-a -t 192.0.2.4:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-A -t 192.168.1.10:31000 -s rr\n"
			"-a -t 192.168.1.10:31000 -r 10.1.0.5:8080 -m -w 1\n"
			"-A -t 203.0.113.140:80 -s rr\n"
			"-a -t 203.0.113.140:80 -r 10.1.0.5:8080 -m -w 1\n",
	},
	{
		.name = "eTP=Local without a local endpoint: external VSs empty, no fallback",
		.svcs = { { .name = "lb", .type = KUBE_SVC_LOAD_BALANCER,
			    .cluster_ips = { "10.0.0.4" }, .ports = { { "", TCP, 80, 31000 } },
			    .lb = { { "203.0.113.140" } }, .etp = LOCAL } },
		.slices = { { .name = "lb-1", .svc = "lb", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = EPS_WEB } },
		.node = "node-c",
		.node_ips = { "192.168.1.12" },
		.want = "-A -t 10.0.0.4:80 -s rr\n"
			"-a -t 10.0.0.4:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-a -t 10.0.0.4:80 -r 10.1.0.6:8080 -m -w 1\n"
			"-A -t 192.168.1.12:31000 -s rr\n"
			"-A -t 203.0.113.140:80 -s rr\n",
	},
	{
		.name = "eTP=Local: the local scope falls back to its serving+terminating endpoint",
		.svcs = { { .name = "np", .type = KUBE_SVC_NODE_PORT, .cluster_ips = { "10.0.0.4" },
			    .ports = { { "", TCP, 80, 31000 } }, .etp = LOCAL } },
		.slices = { { .name = "np-1", .svc = "np", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } },
			      .eps = { { "10.1.0.5", "st", "node-a" }, { "10.1.0.6", "rs", "node-b" } } } },
		.node = "node-a",
		.node_ips = { "192.168.1.10" },
		.want = "-A -t 10.0.0.4:80 -s rr\n"
			"-a -t 10.0.0.4:80 -r 10.1.0.5:8080 -m -w 0\n"
			"-a -t 10.0.0.4:80 -r 10.1.0.6:8080 -m -w 1\n"
			"-A -t 192.168.1.10:31000 -s rr\n"
			"-a -t 192.168.1.10:31000 -r 10.1.0.5:8080 -m -w 1\n",
	},
	{
		.name = "iTP=Local: the ClusterIP gets only local endpoints, the NodePort all",
		.svcs = { { .name = "np", .type = KUBE_SVC_NODE_PORT, .cluster_ips = { "10.0.0.4" },
			    .ports = { { "", TCP, 80, 31000 } }, .itp = LOCAL } },
		.slices = { { .name = "np-1", .svc = "np", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = EPS_WEB } },
		.node = "node-b",
		.node_ips = { "192.168.1.11" },
		.want = "-A -t 10.0.0.4:80 -s rr\n"
			"-a -t 10.0.0.4:80 -r 10.1.0.6:8080 -m -w 1\n"
			"-A -t 192.168.1.11:31000 -s rr\n"
			"-a -t 192.168.1.11:31000 -r 10.1.0.5:8080 -m -w 1\n"
			"-a -t 192.168.1.11:31000 -r 10.1.0.6:8080 -m -w 1\n",
	},
	{
		.name = "externalIPs, one of another family ignored with a note",
		.svcs = { { .name = "ext", .cluster_ips = { "10.0.0.5" },
			    .ports = { { "", TCP, 80 } },
			    .external_ips = { "192.0.2.20", "fd00::20", "192.0.2.21" } } },
		.slices = { { .name = "ext-1", .svc = "ext", .family = AF_INET,
			      .ports = { { "", TCP, 80 } }, .eps = { { "10.1.0.9" } } } },
		.want = "-A -t 10.0.0.5:80 -s rr\n"
			"-a -t 10.0.0.5:80 -r 10.1.0.9:80 -m -w 1\n"
			"-A -t 192.0.2.20:80 -s rr\n"
			"-a -t 192.0.2.20:80 -r 10.1.0.9:80 -m -w 1\n"
			"-A -t 192.0.2.21:80 -s rr\n"
			"-a -t 192.0.2.21:80 -r 10.1.0.9:80 -m -w 1\n",
		.want_notes = "ignored Service default/ext: externalIP fd00::20 is of an IP family "
			      "the Service does not have\n",
	},
	{
		.name = "LB source ranges of one family: the other family's LB addresses are noted",
		.svcs = { { .name = "lbr", .type = KUBE_SVC_LOAD_BALANCER,
			    .cluster_ips = { "10.0.0.7", "fd00::7" }, .ports = { { "", TCP, 80 } },
			    .lb = { { "203.0.113.7" }, { "fd00:200::7" } },
			    .ranges = { "192.0.2.0/24" } } },
		.want = "-A -t 10.0.0.7:80 -s rr\n"
			"-A -t 203.0.113.7:80 -s rr\n"
			"-A -t [fd00::7]:80 -s rr\n"
			"-A -t [fd00:200::7]:80 -s rr\n",
		.want_notes = "refused Service default/lbr: loadBalancerSourceRanges has no IPv6 "
			      "range: every IPv6 source is refused at the load balancer addresses\n",
	},
	{
		.name = "LB source ranges of another family, no LB address of the Service's: no note",
		.svcs = { { .name = "lbp", .type = KUBE_SVC_LOAD_BALANCER,
			    .cluster_ips = { "10.0.0.8" }, .ports = { { "", TCP, 80 } },
			    .lb = { { "203.0.113.8", true }, { "fd00:200::8" } },
			    .ranges = { "fd00::/8" } } },
		.want = "-A -t 10.0.0.8:80 -s rr\n",
		.want_notes = "ignored Service default/lbp: load balancer ingress fd00:200::8 is of "
			      "an IP family the Service does not have\n",
	},
	{
		.name = "LB ingress: VIP mode programmed, ipMode Proxy not",
		.svcs = { { .name = "lb", .type = KUBE_SVC_LOAD_BALANCER,
			    .cluster_ips = { "10.0.0.6" }, .ports = { { "", TCP, 80, 32143 } },
			    .lb = { { "130.211.53.173" }, { "130.211.53.174", true } } } },
		.node_ips = { "192.168.1.10" },
		.want = "-A -t 10.0.0.6:80 -s rr\n"
			"-A -t 130.211.53.173:80 -s rr\n"
			"-A -t 192.168.1.10:32143 -s rr\n",
	},
	{
		.name = "allocateLoadBalancerNodePorts false: no nodePort VS",
		.svcs = { { .name = "frontend-service", .type = KUBE_SVC_LOAD_BALANCER,
			    .cluster_ips = { "10.0.190.76" }, .ports = { { "", TCP, 80 } },
			    .lb = { { "4.255.39.7" } } } },
		.slices = { { .name = "frontend-service-x", .svc = "frontend-service",
			      .family = AF_INET, .ports = { { "", TCP, 8080 } },
			      .eps = { { "192.168.0.251" } } } },
		.node_ips = { "10.224.0.4" },
		.want = "-A -t 4.255.39.7:80 -s rr\n"
			"-a -t 4.255.39.7:80 -r 192.168.0.251:8080 -m -w 1\n"
			"-A -t 10.0.190.76:80 -s rr\n"
			"-a -t 10.0.190.76:80 -r 192.168.0.251:8080 -m -w 1\n",
	},
	{
		.name = "headless, ExternalName and the two labels are skipped",
		.svcs = {
			{ .name = "kubia-headless", .headless = true, .ports = { { "", TCP, 80 } } },
			{ .name = "external-service", .type = KUBE_SVC_EXTERNAL_NAME,
			  .ports = { { "", TCP, 80 } } },
			{ .name = "other-proxy", .cluster_ips = { "10.0.0.7" },
			  .ports = { { "", TCP, 80 } }, .proxy_label = "cilium" },
			{ .name = "labelled-headless", .cluster_ips = { "10.0.0.8" },
			  .ports = { { "", TCP, 80 } }, .headless_label = true },
			/* clusterIP set but invalid: the decoder dropped it; not headless */
			{ .name = "bad-cluster-ip", .ports = { { "", TCP, 80 } } },
		},
		.slices = { { .name = "kubia-headless-1", .svc = "kubia-headless", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = { { "10.108.1.4" } } } },
		.want = "",
		.want_notes =
			"skipped Service default/bad-cluster-ip: invalid clusterIP: no usable address "
			"in spec.clusterIP(s)\n"
			"skipped Service default/external-service: type ExternalName\n"
			"skipped Service default/kubia-headless: headless (clusterIP None)\n"
			"skipped Service default/labelled-headless: label "
			"service.kubernetes.io/headless\n"
			"skipped Service default/other-proxy: label "
			"service.kubernetes.io/service-proxy-name names another proxy\n",
	},
	{
		.name = "--service-proxy-name naming the label's value programs the Service",
		.svcs = { { .name = "mine", .cluster_ips = { "10.0.0.7" },
			    .ports = { { "", TCP, 80 } }, .proxy_label = "kipvs" },
			  { .name = "plain", .cluster_ips = { "10.0.0.9" },
			    .ports = { { "", TCP, 80 } } } },
		.proxy_name = "kipvs",
		.want = "-A -t 10.0.0.7:80 -s rr\n"
			"-A -t 10.0.0.9:80 -s rr\n",
	},
	{
		.name = "dual-stack, one slice per family",
		.svcs = { { .name = "ds", .type = KUBE_SVC_NODE_PORT,
			    .cluster_ips = { "fd00:10::5", "10.0.0.5" },
			    .ports = { { "http", TCP, 80, 30500 } } } },
		.slices = {
			{ .name = "ds-v4", .svc = "ds", .family = AF_INET,
			  .ports = { { "http", TCP, 8080 } }, .eps = { { "10.1.0.5" } } },
			{ .name = "ds-v6", .svc = "ds", .family = AF_INET6,
			  .ports = { { "http", TCP, 8080 } }, .eps = { { "fd00:1::5" } } },
		},
		.node_ips = { "192.168.1.10", "fd00:192::10" },
		.want = "-A -t 10.0.0.5:80 -s rr\n"
			"-a -t 10.0.0.5:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-A -t 192.168.1.10:30500 -s rr\n"
			"-a -t 192.168.1.10:30500 -r 10.1.0.5:8080 -m -w 1\n"
			"-A -t [fd00:10::5]:80 -s rr\n"
			"-a -t [fd00:10::5]:80 -r [fd00:1::5]:8080 -m -w 1\n"
			"-A -t [fd00:192::10]:30500 -s rr\n"
			"-a -t [fd00:192::10]:30500 -r [fd00:1::5]:8080 -m -w 1\n",
	},
	{
		.name = "an address in two slices is one real server, the ready copy wins",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = {
			{ .name = "web-a", .svc = "web", .family = AF_INET,
			  .ports = { { "", TCP, 8080 } },
			  .eps = { { "10.1.0.5", "st" }, { "10.1.0.6", "rs" } } },
			{ .name = "web-b", .svc = "web", .family = AF_INET,
			  .ports = { { "", TCP, 8080 } },
			  .eps = { { "10.1.0.5", "rs" }, { "10.1.0.6", "" } } },
		},
		.want = "-A -t 10.0.0.1:80 -s rr\n"
			"-a -t 10.0.0.1:80 -r 10.1.0.5:8080 -m -w 1\n"
			"-a -t 10.0.0.1:80 -r 10.1.0.6:8080 -m -w 1\n",
	},
	{
		.name = "an FQDN slice (no IP family) is ignored",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = { { .name = "web-fqdn", .svc = "web", .family = 0,
			      .ports = { { "", TCP, 8080 } }, .eps = { { "10.1.0.5" } } } },
		.want = "-A -t 10.0.0.1:80 -s rr\n",
	},
	{
		.name = "port name or protocol mismatch gives no real server",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "http", TCP, 80 }, { "dns", UDP, 53 } } } },
		.slices = { { .name = "web-1", .svc = "web", .family = AF_INET,
			      .ports = { { "web", TCP, 8080 }, { "dns", TCP, 53 } },
			      .eps = { { "10.1.0.5" } } } },
		.want = "-A -t 10.0.0.1:80 -s rr\n"
			"-A -u 10.0.0.1:53 -s rr\n",
	},
	{
		.name = "same Service name in two namespaces keeps its own slices",
		.svcs = { { .ns = "a", .name = "web", .cluster_ips = { "10.0.0.11" },
			    .ports = { { "", TCP, 80 } } },
			  { .ns = "b", .name = "web", .cluster_ips = { "10.0.0.12" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = { { .ns = "a", .name = "web-1", .svc = "web", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = { { "10.1.1.1" } } },
			    { .ns = "b", .name = "web-1", .svc = "web", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = { { "10.1.2.1" } } } },
		.want = "-A -t 10.0.0.11:80 -s rr\n"
			"-a -t 10.0.0.11:80 -r 10.1.1.1:8080 -m -w 1\n"
			"-A -t 10.0.0.12:80 -s rr\n"
			"-a -t 10.0.0.12:80 -r 10.1.2.1:8080 -m -w 1\n",
	},
	{
		.name = "UDP and SCTP, sorted by protocol after family",
		.svcs = { { .ns = "kube-system", .name = "kube-dns", .cluster_ips = { "10.96.0.10" },
			    .ports = { { "dns", UDP, 53 }, { "dns-tcp", TCP, 53 },
				       { "metrics", TCP, 9153 } } },
			  { .name = "sig", .cluster_ips = { "10.96.0.9" },
			    .ports = { { "", SCTP, 3868 } } } },
		.slices = { { .ns = "kube-system", .name = "kube-dns-1", .svc = "kube-dns",
			      .family = AF_INET,
			      .ports = { { "dns-tcp", TCP, 53 }, { "dns", UDP, 53 },
					 { "metrics", TCP, 9153 } },
			      .eps = { { "10.244.0.3" } } },
			    { .name = "sig-1", .svc = "sig", .family = AF_INET,
			      .ports = { { "", SCTP, 3868 } }, .eps = { { "10.244.0.4" } } } },
		.want = "-A -t 10.96.0.10:53 -s rr\n"
			"-a -t 10.96.0.10:53 -r 10.244.0.3:53 -m -w 1\n"
			"-A -t 10.96.0.10:9153 -s rr\n"
			"-a -t 10.96.0.10:9153 -r 10.244.0.3:9153 -m -w 1\n"
			"-A -u 10.96.0.10:53 -s rr\n"
			"-a -u 10.96.0.10:53 -r 10.244.0.3:53 -m -w 1\n"
			"-A --sctp-service 10.96.0.9:3868 -s rr\n"
			"-a --sctp-service 10.96.0.9:3868 -r 10.244.0.4:3868 -m -w 1\n",
	},
	{
		.name = "the scheduler flag",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } }, .affinity = true, .timeout = 30 } },
		.slices = { { .name = "web-1", .svc = "web", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } }, .eps = { { "10.1.0.5" } } } },
		.sched = "wlc",
		.want = "-A -t 10.0.0.1:80 -s wlc -p 30\n"
			"-a -t 10.0.0.1:80 -r 10.1.0.5:8080 -m -w 1\n",
	},
	{
		/* mh-port as kube-proxy sets it; mh-fallback so that a weight 0 takes no hash. */
		.name = "mh: source port hashed, fallback past a draining real server",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } }, .affinity = true, .timeout = 30 },
			  { .name = "plain", .cluster_ips = { "10.0.0.2" },
			    .ports = { { "", UDP, 53 } } } },
		.slices = { { .name = "web-1", .svc = "web", .family = AF_INET,
			      .ports = { { "", TCP, 8080 } },
			      .eps = { { "10.1.0.5", "st", "n1" }, { "10.1.0.6", "rs", "n1" } } } },
		.sched = "mh",
		.want = "-A -t 10.0.0.1:80 -s mh -p 30 -b mh-fallback,mh-port\n"
			"-a -t 10.0.0.1:80 -r 10.1.0.5:8080 -m -w 0\n"
			"-a -t 10.0.0.1:80 -r 10.1.0.6:8080 -m -w 1\n"
			"-A -u 10.0.0.2:53 -s mh -b mh-fallback,mh-port\n",
	},
	{
		.name = "sh: fallback only, the source address alone is hashed",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } } } },
		.sched = "sh",
		.want = "-A -t 10.0.0.1:80 -s sh -b sh-fallback\n",
	},
	{
		.name = "the other schedulers get no flags",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } } } },
		.sched = "twos",
		.want = "-A -t 10.0.0.1:80 -s twos\n",
	},
	{
		.name = "two Services on one externalIP:port: the first by namespace/name wins",
		.svcs = { { .ns = "b", .name = "one", .cluster_ips = { "10.0.0.21" },
			    .ports = { { "", TCP, 80 } }, .external_ips = { "192.0.2.50" } },
			  { .ns = "a", .name = "two", .cluster_ips = { "10.0.0.22" },
			    .ports = { { "", TCP, 80 } }, .external_ips = { "192.0.2.50" } } },
		.slices = { { .ns = "a", .name = "two-1", .svc = "two", .family = AF_INET,
			      .ports = { { "", TCP, 80 } }, .eps = { { "10.1.0.22" } } },
			    { .ns = "b", .name = "one-1", .svc = "one", .family = AF_INET,
			      .ports = { { "", TCP, 80 } }, .eps = { { "10.1.0.21" } } } },
		.want = "-A -t 10.0.0.21:80 -s rr\n"
			"-a -t 10.0.0.21:80 -r 10.1.0.21:80 -m -w 1\n"
			"-A -t 10.0.0.22:80 -s rr\n"
			"-a -t 10.0.0.22:80 -r 10.1.0.22:80 -m -w 1\n"
			"-A -t 192.0.2.50:80 -s rr\n"
			"-a -t 192.0.2.50:80 -r 10.1.0.22:80 -m -w 1\n",
		.want_notes = "conflict Service b/one: externalIP 192.0.2.50:80/TCP already used "
			      "by externalIP of a/two\n",
	},
	{
		.name = "an externalIP equal to another Service's ClusterIP loses to it",
		.svcs = { { .ns = "a", .name = "hijack", .cluster_ips = { "10.0.0.31" },
			    .ports = { { "", TCP, 443 } }, .external_ips = { "10.96.0.1" } },
			  { .ns = "default", .name = "kubernetes", .cluster_ips = { "10.96.0.1" },
			    .ports = { { "https", TCP, 443 } } } },
		.want = "-A -t 10.0.0.31:443 -s rr\n"
			"-A -t 10.96.0.1:443 -s rr\n",
		.want_notes = "conflict Service a/hijack: externalIP 10.96.0.1:443/TCP already "
			      "used by ClusterIP of default/kubernetes\n",
	},
	{
		.name = "slices serving no Service are noted as unused",
		.svcs = { { .name = "web", .cluster_ips = { "10.0.0.1" },
			    .ports = { { "", TCP, 80 } } } },
		.slices = { { .name = "gone-1", .svc = "gone", .family = AF_INET,
			      .ports = { { "", TCP, 80 } }, .eps = { { "10.1.0.5" } } },
			    { .name = "nolabel-1", .family = AF_INET,
			      .ports = { { "", TCP, 80 } }, .eps = { { "10.1.0.6" } } } },
		.want = "-A -t 10.0.0.1:80 -s rr\n",
		.want_notes = "unused EndpointSlice default/gone-1: no such Service here "
			      "(absent, or not proxied by its labels)\n"
			      "unused EndpointSlice default/nolabel-1: no label "
			      "kubernetes.io/service-name\n",
	},
};

static void test_plan_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
		print_message("case: %s\n", plan_cases[i].name);
		t_run_case(&plan_cases[i]);
	}
}

/* ---- Changes, one Service at a time ---- */

static char *t_plan_one(const struct kube_cache *cache, const char *ns, const char *name)
{
	const struct kube_service *svc = kube_cache_get_service(cache, ns, name);
	struct plan_input in = { .cache = cache, .node_name = "node-a" };
	struct plan_table table = { 0 };
	char *text = NULL;
	size_t size = 0;
	FILE *out;

	assert_non_null(svc);
	assert_true(plan_service(&in, svc, &table) >= 0);
	out = open_memstream(&text, &size);
	assert_non_null(out);
	assert_int_equal(plan_table_write(&table, out), 0);
	assert_int_equal(fclose(out), 0);
	plan_table_clear(&table);
	return text;
}

/* Affinity switched on, then off: the same Service replanned alone follows each change. */
static void test_plan_affinity_switch(void **state)
{
	struct t_svc t = { .name = "kubia-sticky", .cluster_ips = { "10.111.254.223" },
			   .ports = { { "", TCP, 80 } }, .affinity = true };
	struct t_slice s = { .name = "kubia-sticky-1", .svc = "kubia-sticky", .family = AF_INET,
			     .ports = { { "", TCP, 8080 } }, .eps = { { "10.108.1.4" } } };
	struct t_svc other = { .name = "other", .cluster_ips = { "10.0.0.99" },
			       .ports = { { "", TCP, 80 } } };
	struct kube_cache *cache = kube_cache_new();
	char *text;

	(void)state;
	assert_non_null(cache);
	assert_true(kube_cache_put_service(cache, t_service(&t, "1")) >= 0);
	assert_true(kube_cache_put_service(cache, t_service(&other, "1")) >= 0);
	assert_true(kube_cache_put_slice(cache, t_slice(&s)) >= 0);

	text = t_plan_one(cache, "default", "kubia-sticky");
	assert_string_equal(text, "-A -t 10.111.254.223:80 -s rr -p 10800\n"
				  "-a -t 10.111.254.223:80 -r 10.108.1.4:8080 -m -w 1\n");
	free(text);

	t.affinity = false;
	assert_true(kube_cache_put_service(cache, t_service(&t, "2")) >= 0);
	text = t_plan_one(cache, "default", "kubia-sticky");
	assert_string_equal(text, "-A -t 10.111.254.223:80 -s rr\n"
				  "-a -t 10.111.254.223:80 -r 10.108.1.4:8080 -m -w 1\n");
	free(text);
	cache = kube_cache_free(cache);
}

/* A Service whose own addresses collide keeps one VS per key: ClusterIP over externalIP. */
static void test_plan_service_self_conflict(void **state)
{
	struct t_svc t = { .name = "self", .cluster_ips = { "10.0.0.1" },
			   .ports = { { "", TCP, 80 } }, .external_ips = { "10.0.0.1" } };
	struct kube_cache *cache = kube_cache_new();
	char *text;

	(void)state;
	assert_non_null(cache);
	assert_true(kube_cache_put_service(cache, t_service(&t, "1")) >= 0);
	text = t_plan_one(cache, "default", "self");
	assert_string_equal(text, "-A -t 10.0.0.1:80 -s rr\n");
	free(text);
	cache = kube_cache_free(cache);
}

/* plan_service fills the table's metadata (kind, owner, port name) for logs and metrics. */
static void test_plan_vs_metadata(void **state)
{
	struct t_svc t = { .ns = "jobs", .name = "frontend-service", .type = KUBE_SVC_NODE_PORT,
			   .cluster_ips = { "10.96.154.187" },
			   .ports = { { "frontend", TCP, 80, 32073 } } };
	struct kube_cache *cache = kube_cache_new();
	struct net_addr node = t_addr("192.168.49.3");
	struct plan_input in = { .cache = cache, .node_name = "minikube-m02", .node_addrs = &node,
				 .n_node_addrs = 1, .scheduler = "sh" };
	struct plan_table table = { 0 };

	(void)state;
	assert_non_null(cache);
	assert_true(kube_cache_put_service(cache, t_service(&t, "1")) >= 0);
	assert_int_equal(plan_service(&in, kube_cache_get_service(cache, "jobs",
								  "frontend-service"),
				      &table),
			 2);
	assert_int_equal(table.vs[0].kind, PLAN_VS_CLUSTER_IP);
	assert_int_equal(table.vs[1].kind, PLAN_VS_NODE_PORT);
	assert_int_equal(table.vs[1].port, 32073);
	assert_int_equal(table.vs[1].proto, KUBE_PROTO_TCP);
	assert_string_equal(table.vs[1].svc_namespace, "jobs");
	assert_string_equal(table.vs[1].svc_name, "frontend-service");
	assert_string_equal(table.vs[1].port_name, "frontend");
	assert_string_equal(table.vs[1].scheduler, "sh");
	assert_false(table.vs[1].persistent);
	plan_table_clear(&table);
	assert_null(table.vs);
	assert_int_equal(table.n_vs, 0);
	plan_table_clear(NULL);
	cache = kube_cache_free(cache);
}

/* ---- Node addresses ---- */

/*
 * One case of the node-address rule. ifaddrs non-empty stands for `run` with
 * --nodeport-addresses (the kernel's interface addresses); empty for `plan`. want is the
 * space-separated result; when it is empty, reason is the warning's reason= field.
 */
struct t_node_addrs {
	const char *name;
	const char *flags[3];
	const char *internal[3];
	const char *external[2];
	bool no_node;
	const char *cidrs[2];
	const char *ifaddrs[3];
	const char *want;
	const char *reason;
};

static const struct t_node_addrs node_addrs_cases[] = {
	{ "flags win over the Node", { "10.0.0.9" }, { "192.168.49.3" }, { NULL }, false,
	  { NULL }, { NULL }, "10.0.0.9", NULL },
	{ "primary: the first InternalIP of each family", { NULL },
	  { "192.168.49.3", "192.168.49.9", "fd00::3" }, { "104.197.41.11" }, false, { NULL },
	  { NULL }, "192.168.49.3 fd00::3", NULL },
	{ "primary: an ExternalIP-only Node gets its first ExternalIP", { NULL }, { NULL },
	  { "104.197.41.11", "104.197.41.12" }, false, { NULL }, { NULL }, "104.197.41.11",
	  NULL },
	{ "primary: the ExternalIP of a family without InternalIP", { NULL }, { "192.168.49.3" },
	  { "104.197.41.11", "2001:db8::11" }, false, { NULL }, { NULL },
	  "192.168.49.3 2001:db8::11", NULL },
	{ "no flag, no Node: none", { NULL }, { NULL }, { NULL }, true, { NULL }, { NULL }, "",
	  "Node node-a not found" },
	{ "a Node without addresses: none", { NULL }, { NULL }, { NULL }, false, { NULL },
	  { NULL }, "", "Node node-a has no InternalIP or ExternalIP address" },
	{ "duplicates dropped", { "10.0.0.9", "10.0.0.9", "10.0.0.8" }, { NULL }, { NULL }, true,
	  { NULL }, { NULL }, "10.0.0.9 10.0.0.8", NULL },
	{ "plan: CIDRs select among all the Node's addresses", { NULL },
	  { "192.168.49.3", "10.240.0.5" }, { "104.197.41.11" }, false,
	  { "104.197.0.0/16", "10.240.0.0/16" }, { NULL }, "10.240.0.5 104.197.41.11", NULL },
	{ "CIDRs filter the flags", { "10.0.0.9", "192.168.1.1" }, { NULL }, { NULL }, true,
	  { "192.168.0.0/16" }, { NULL }, "192.168.1.1", NULL },
	{ "plan: CIDRs matching none of the Node's addresses", { NULL }, { "192.168.49.3" },
	  { NULL }, false, { "10.0.0.0/8" }, { NULL }, "",
	  "no address of Node node-a inside --nodeport-addresses" },
	{ "CIDRs matching no flag", { "192.168.49.3" }, { NULL }, { NULL }, true,
	  { "10.0.0.0/8" }, { NULL }, "", "no --node-ip address inside --nodeport-addresses" },
	{ "run: CIDRs select among the interfaces, not the Node's addresses", { NULL },
	  { "10.240.0.9" }, { NULL }, false, { "10.240.0.0/16", "104.197.0.0/16" },
	  { "10.240.0.3", "172.17.0.1", "104.197.41.11" }, "10.240.0.3 104.197.41.11", NULL },
	{ "run: the interfaces need no Node", { NULL }, { NULL }, { NULL }, true,
	  { "10.240.0.0/16" }, { "10.240.0.3", "10.240.0.3" }, "10.240.0.3", NULL },
	{ "run: flags win over the interfaces", { "10.0.0.9", "192.168.1.1" }, { NULL }, { NULL },
	  true, { "192.168.0.0/16" }, { "192.168.1.2" }, "192.168.1.1", NULL },
	{ "run: CIDRs matching no interface", { NULL }, { "10.240.0.3" }, { NULL }, false,
	  { "10.240.0.0/16" }, { "172.17.0.1" }, "",
	  "no interface address inside --nodeport-addresses" },
};

static void test_plan_node_addrs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(node_addrs_cases) / sizeof(node_addrs_cases[0]); i++) {
		const struct t_node_addrs *c = &node_addrs_cases[i];
		struct net_addr flags[3], internal[3], external[2], ifaddrs[3], *got = NULL;
		struct net_prefix cidrs[2];
		struct kube_node node = { .internal_ips = internal, .external_ips = external };
		struct plan_node_addrs_input in = { .node_name = "node-a", .node_ips = flags,
						    .cidrs = cidrs, .if_addrs = ifaddrs };
		char buf[256] = "", a[NET_ADDR_STRLEN], fields[512], want_reason[320];
		int n;

		for (; in.n_node_ips < 3 && c->flags[in.n_node_ips]; in.n_node_ips++)
			flags[in.n_node_ips] = t_addr(c->flags[in.n_node_ips]);
		for (; node.n_internal_ips < 3 && c->internal[node.n_internal_ips];
		     node.n_internal_ips++)
			internal[node.n_internal_ips] = t_addr(c->internal[node.n_internal_ips]);
		for (; node.n_external_ips < 2 && c->external[node.n_external_ips];
		     node.n_external_ips++)
			external[node.n_external_ips] = t_addr(c->external[node.n_external_ips]);
		for (; in.n_cidrs < 2 && c->cidrs[in.n_cidrs]; in.n_cidrs++)
			assert_int_equal(net_prefix_parse(c->cidrs[in.n_cidrs], &cidrs[in.n_cidrs]),
					 0);
		for (; in.n_if_addrs < 3 && c->ifaddrs[in.n_if_addrs]; in.n_if_addrs++)
			ifaddrs[in.n_if_addrs] = t_addr(c->ifaddrs[in.n_if_addrs]);
		in.from_interfaces = in.n_if_addrs > 0;
		in.node = c->no_node ? NULL : &node;
		n = plan_node_addrs_resolve(&in, &got);
		if (n < 0)
			fail_msg("case %s: %s", c->name, strerror(-n));
		for (int j = 0; j < n; j++) {
			if (j > 0)
				strcat(buf, " ");
			strcat(buf, net_addr_format(&got[j], a));
		}
		if (strcmp(buf, c->want) != 0)
			fail_msg("case %s: want '%s', got '%s'", c->name, c->want, buf);
		if (n == 0 && got)
			fail_msg("case %s: an array for no address", c->name);
		free(got);
		if (!c->reason)
			continue;
		(void)snprintf(want_reason, sizeof(want_reason), "node=node-a reason=\"%s\" hint=",
			       c->reason);
		plan_node_addrs_none_fields(&in, fields, sizeof(fields));
		if (strncmp(fields, want_reason, strlen(want_reason)) != 0)
			fail_msg("case %s: fields '%s', want them to start '%s'", c->name, fields,
				 want_reason);
	}
}

/* Only a programmed Service with a nodePort needs the node's addresses. */
static void test_plan_cache_has_node_port(void **state)
{
	static const struct t_svc plain = { "default", "web", KUBE_SVC_CLUSTER_IP, { "10.96.0.1" },
					    .ports = { { "", TCP, 80, 0 } } };
	static const struct t_svc other_proxy = {
		"default", "other", KUBE_SVC_NODE_PORT, { "10.96.0.2" },
		.ports = { { "", TCP, 80, 30080 } }, .proxy_label = "cilium"
	};
	static const struct t_svc nodeport = { "default", "np", KUBE_SVC_NODE_PORT, { "10.96.0.3" },
					       .ports = { { "a", TCP, 80, 0 },
							  { "b", TCP, 81, 30081 } } };
	struct kube_cache *cache = kube_cache_new();

	(void)state;
	assert_non_null(cache);
	assert_false(plan_cache_has_node_port(cache, NULL));
	assert_true(kube_cache_put_service(cache, t_service(&plain, "1")) >= 0);
	assert_true(kube_cache_put_service(cache, t_service(&other_proxy, "1")) >= 0);
	assert_false(plan_cache_has_node_port(cache, NULL));
	assert_true(plan_cache_has_node_port(cache, "cilium"));
	assert_true(kube_cache_put_service(cache, t_service(&nodeport, "1")) >= 0);
	assert_true(plan_cache_has_node_port(cache, NULL));
	cache = kube_cache_free(cache);
}

/* ---- Small contracts ---- */

static void test_plan_scheduler_names(void **state)
{
	(void)state;
	assert_true(plan_scheduler_is_valid("rr"));
	assert_true(plan_scheduler_is_valid("wlc"));
	assert_true(plan_scheduler_is_valid("mh"));
	/* Any name a module could have: the kernel says whether it has it. */
	assert_true(plan_scheduler_is_valid("roundrobin"));
	assert_true(plan_scheduler_is_valid("My_sched-2"));
	assert_true(plan_scheduler_is_valid("abcdefghijklmno"));
	assert_false(plan_scheduler_is_valid("abcdefghijklmnop")); /* 16: no room for the NUL */
	assert_false(plan_scheduler_is_valid(""));
	assert_false(plan_scheduler_is_valid("r r"));
	assert_false(plan_scheduler_is_valid("../rr"));
	assert_false(plan_scheduler_is_valid(NULL));
}

/* The flags of each scheduler, and their `ipvsadm -b` names both ways. */
static void test_plan_sched_flags(void **state)
{
	static const struct {
		const char *sched;
		uint32_t flags;
		const char *text; /* as ipvsadm -Sn prints it */
	} cases[] = {
		{ "mh", PLAN_SCHED_F_FALLBACK | PLAN_SCHED_F_PORT, "mh-fallback,mh-port" },
		{ "mh", PLAN_SCHED_F_PORT, "mh-port" },
		{ "sh", PLAN_SCHED_F_FALLBACK, "sh-fallback" },
		{ "sh", PLAN_SCHED_F_MASK, "sh-fallback,sh-port,flag-3" },
		{ "rr", PLAN_SCHED_F_FALLBACK, "flag-1" },
		{ "rr", PLAN_SCHED_F_MASK, "flag-1,flag-2,flag-3" },
		{ "rr", 0, "" },
	};
	char buf[PLAN_SCHED_FLAGS_STRLEN];
	uint32_t flags;

	(void)state;
	assert_int_equal(plan_scheduler_flags("mh"), PLAN_SCHED_F_FALLBACK | PLAN_SCHED_F_PORT);
	assert_int_equal(plan_scheduler_flags("sh"), PLAN_SCHED_F_FALLBACK);
	assert_int_equal(plan_scheduler_flags("rr"), 0);
	assert_int_equal(plan_scheduler_flags("dh"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s %s\n", cases[i].sched, cases[i].text);
		assert_string_equal(plan_sched_flags_format(cases[i].sched, cases[i].flags, buf),
				    cases[i].text);
		assert_int_equal(plan_sched_flags_parse(cases[i].sched, cases[i].text, &flags), 0);
		assert_int_equal(flags, cases[i].flags);
	}
	/* ipvsadm takes the generic names under any scheduler, the named ones only under theirs. */
	assert_int_equal(plan_sched_flags_parse("mh", "flag-2,flag-1", &flags), 0);
	assert_int_equal(flags, PLAN_SCHED_F_FALLBACK | PLAN_SCHED_F_PORT);
	assert_int_equal(plan_sched_flags_parse("rr", "mh-port", &flags), -EINVAL);
	assert_int_equal(plan_sched_flags_parse("mh", "sh-port", &flags), -EINVAL);
	assert_int_equal(plan_sched_flags_parse("mh", "mh-portx", &flags), -EINVAL);
}

static void test_plan_key_order(void **state)
{
	struct plan_vs a = { .addr = t_addr("10.0.0.2"), .proto = KUBE_PROTO_TCP, .port = 80 };
	struct plan_vs b = { .addr = t_addr("10.0.0.1"), .proto = KUBE_PROTO_UDP, .port = 53 };
	struct plan_vs c = { .addr = t_addr("::1"), .proto = KUBE_PROTO_TCP, .port = 1 };
	struct plan_vs d = { .addr = t_addr("10.0.0.2"), .proto = KUBE_PROTO_TCP, .port = 443 };

	(void)state;
	assert_true(plan_vs_key_compare(&a, &b) < 0); /* protocol before address */
	assert_true(plan_vs_key_compare(&b, &c) < 0); /* family before protocol */
	assert_true(plan_vs_key_compare(&a, &d) < 0); /* port last */
	assert_int_equal(plan_vs_key_compare(&d, &d), 0);
	assert_string_equal(plan_vs_kind_to_string(PLAN_VS_LOAD_BALANCER), "LoadBalancer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_cases),
		cmocka_unit_test(test_plan_affinity_switch),
		cmocka_unit_test(test_plan_service_self_conflict),
		cmocka_unit_test(test_plan_vs_metadata),
		cmocka_unit_test(test_plan_node_addrs),
		cmocka_unit_test(test_plan_cache_has_node_port),
		cmocka_unit_test(test_plan_scheduler_names),
		cmocka_unit_test(test_plan_sched_flags),
		cmocka_unit_test(test_plan_key_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

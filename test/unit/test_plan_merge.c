/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the merge of claims (lib/plan_merge.c), as the daemon uses it: after any
 * sequence of changes, re-planning only the changed Services gives exactly plan_build()'s table
 * (a fresh merge of everything) on the same cache (random changes with many cross-Service conflicts, several seeds), and the change
 * reporting (1 only when a Service's virtual servers moved).
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
#include "log.h"
#include "net_addr.h"
#include "plan.h"
#include "test_plan_util.h"

static FILE *devnull;

/* The plan logs conflicts at info; the random test makes thousands. */
static void log_quiet(bool quiet)
{
	if (quiet && !devnull)
		devnull = fopen("/dev/null", "w");
	log_set_stream(quiet ? devnull : NULL);
}

/* ---- A small deterministic generator ---- */

static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng_state >> 33) % n);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static struct net_addr addr4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	struct net_addr x = {.family = AF_INET};

	x.bytes[0] = (uint8_t)a;
	x.bytes[1] = (uint8_t)b;
	x.bytes[2] = (uint8_t)c;
	x.bytes[3] = (uint8_t)d;
	return x;
}

static const char *const namespaces[] = {"a", "b", "default"};
static const char *const port_names[] = {"", "http", "dns"};
#define N_SVC_NAMES 12

static void meta_set(struct kube_meta *m, const char *ns, const char *name, unsigned version)
{
	char rv[32];

	(void)snprintf(rv, sizeof(rv), "%u", version);
	m->namespace = xstrdup(ns);
	m->name = xstrdup(name);
	m->uid = xstrdup(name);
	m->resource_version = xstrdup(rv);
}

/*
 * A random Service. Addresses come from a tiny pool (10.96.0.1-4) shared by cluster IPs,
 * externalIPs and load balancer ingress, so keys collide across Services and kinds.
 */
static struct kube_service *random_service(const char *ns, const char *name, unsigned version)
{
	struct kube_service *s = calloc(1, sizeof(*s));
	unsigned kind = rnd(10);

	assert_non_null(s);
	meta_set(&s->meta, ns, name, version);
	s->type = kind < 5   ? KUBE_SVC_CLUSTER_IP
		  : kind < 8 ? KUBE_SVC_NODE_PORT
		  : kind < 9 ? KUBE_SVC_LOAD_BALANCER
			     : KUBE_SVC_EXTERNAL_NAME;
	if (s->type != KUBE_SVC_EXTERNAL_NAME && rnd(12) > 0) {
		s->cluster_ips = calloc(1, sizeof(*s->cluster_ips));
		assert_non_null(s->cluster_ips);
		s->cluster_ips[0] = addr4(10, 96, 0, 1 + rnd(4));
		s->n_cluster_ips = 1;
		s->ip_families[0] = AF_INET;
		s->n_ip_families = 1;
	} else {
		s->headless = true;
	}
	s->n_ports = 1 + rnd(2);
	s->ports = calloc(s->n_ports, sizeof(*s->ports));
	assert_non_null(s->ports);
	for (size_t i = 0; i < s->n_ports; i++) {
		s->ports[i].name = xstrdup(port_names[(i + rnd(2)) % 3]);
		if (i == 1 && strcmp(s->ports[1].name, s->ports[0].name) == 0) {
			free(s->ports[1].name);
			s->ports[1].name =
			    xstrdup(strcmp(s->ports[0].name, "dns") ? "dns" : "http");
		}
		s->ports[i].proto = rnd(4) == 0 ? KUBE_PROTO_UDP : KUBE_PROTO_TCP;
		s->ports[i].port = (uint16_t)(80 + rnd(3));
		if (s->type == KUBE_SVC_NODE_PORT || s->type == KUBE_SVC_LOAD_BALANCER)
			s->ports[i].node_port = (uint16_t)(30000 + rnd(3));
	}
	if (rnd(3) == 0) {
		s->n_external_ips = 1 + rnd(2);
		s->external_ips = calloc(s->n_external_ips, sizeof(*s->external_ips));
		assert_non_null(s->external_ips);
		for (size_t i = 0; i < s->n_external_ips; i++)
			s->external_ips[i] = addr4(10, 96, 0, 1 + rnd(4));
	}
	if (s->type == KUBE_SVC_LOAD_BALANCER && rnd(2) == 0) {
		s->n_lb_ingress = 1;
		s->lb_ingress = calloc(1, sizeof(*s->lb_ingress));
		assert_non_null(s->lb_ingress);
		s->lb_ingress[0].ip = addr4(10, 96, 0, 1 + rnd(4));
	}
	s->affinity_client_ip = rnd(5) == 0;
	s->affinity_timeout = KUBE_AFFINITY_TIMEOUT_DEFAULT;
	s->external_policy = rnd(3) == 0 ? KUBE_POLICY_LOCAL : KUBE_POLICY_CLUSTER;
	s->internal_policy = rnd(6) == 0 ? KUBE_POLICY_LOCAL : KUBE_POLICY_CLUSTER;
	return s;
}

static struct kube_endpoint_slice *random_slice(const char *ns, const char *name,
						const char *svc_name, unsigned version)
{
	struct kube_endpoint_slice *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	meta_set(&e->meta, ns, name, version);
	e->service_name = xstrdup(svc_name);
	e->family = AF_INET;
	e->n_ports = 1 + rnd(2);
	e->ports = calloc(e->n_ports, sizeof(*e->ports));
	assert_non_null(e->ports);
	for (size_t i = 0; i < e->n_ports; i++) {
		e->ports[i].name = xstrdup(port_names[(i + rnd(3)) % 3]);
		e->ports[i].proto = rnd(4) == 0 ? KUBE_PROTO_UDP : KUBE_PROTO_TCP;
		e->ports[i].port = (uint16_t)(8080 + rnd(2));
	}
	e->n_endpoints = rnd(4);
	if (e->n_endpoints) {
		e->endpoints = calloc(e->n_endpoints, sizeof(*e->endpoints));
		assert_non_null(e->endpoints);
	}
	for (size_t i = 0; i < e->n_endpoints; i++) {
		struct kube_endpoint *ep = &e->endpoints[i];
		unsigned c = rnd(6);

		ep->addr = addr4(10, 244, 0, 1 + rnd(6));
		ep->ready = c < 4;
		ep->serving = c < 5;
		ep->terminating = c >= 4;
		ep->node_name = xstrdup(rnd(2) ? "node-a" : "node-b");
	}
	return e;
}

/* ---- Comparing tables ---- */

static char *table_text(const struct plan_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; i < t->n_vs; i++) {
		const struct plan_vs *vs = &t->vs[i];
		char a[NET_ADDR_STRLEN];

		fprintf(f, "%s/%s %s %s %s/%s:%s p=%d t=%u f=%#x\n",
			net_addr_format_port(&vs->addr, vs->port, a),
			kube_proto_to_string(vs->proto), vs->scheduler,
			plan_vs_kind_to_string(vs->kind), vs->svc_namespace, vs->svc_name,
			vs->port_name, vs->persistent, vs->timeout, vs->sched_flags);
		for (size_t j = 0; j < vs->n_dests; j++)
			fprintf(f, "  %s w=%u\n",
				net_addr_format_port(&vs->dests[j].addr, vs->dests[j].port, a),
				vs->dests[j].weight);
	}
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void expect_same_as_build(struct plan_merge *p, const struct plan_input *in,
				 const char *what)
{
	struct plan_table full = {0}, view;
	char *want, *got;

	assert_true(plan_build(in, &full) >= 0);
	assert_int_equal(plan_merge_table(p, &view), 0);
	want = table_text(&full);
	got = table_text(&view);
	if (strcmp(want, got) != 0) {
		print_message("case %s: incremental table differs from plan_build()\n--- want\n%s"
			      "--- got\n%s",
			      what, want, got);
		fail();
	}
	free(want);
	free(got);
	plan_table_clear(&full);
}

/* Applies the cache's changes to the plan, as the daemon's loop does. */
static void apply_changes(struct plan_merge *p, struct kube_cache *cache,
			  const struct plan_input *in)
{
	char **keys = NULL;
	size_t n = 0;
	bool node_changed = false;

	assert_int_equal(kube_cache_take_changes(cache, &keys, &n, &node_changed), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(plan_merge_update(p, in, keys[i]) >= 0);
	kube_cache_changes_free(keys, n);
}

/* ---- Tests ---- */

static void test_random_changes_equal_plan_build(void **state)
{
	static const uint64_t seeds[] = {1, 2, 3, 42, 1234567, 0xdeadbeef};
	struct net_addr node_addrs[2] = {addr4(192, 168, 0, 10), addr4(10, 96, 0, 3)};

	(void)state;
	log_quiet(true);
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		struct kube_cache *cache = kube_cache_new();
		struct plan_merge *p = plan_merge_new();
		unsigned version = 1;
		struct plan_input in = {
		    .cache = cache,
		    .node_name = "node-a",
		    .node_addrs = node_addrs,
		    .n_node_addrs = 2,
		    .scheduler = "rr",
		};

		assert_non_null(cache);
		assert_non_null(p);
		assert_int_equal(kube_cache_set_node_name(cache, "node-a"), 0);
		rng_state = seeds[s];
		for (unsigned step = 0; step < 300; step++) {
			unsigned burst = 1 + rnd(4);
			char what[64], name[32], slice_name[40];

			for (unsigned b = 0; b < burst; b++) {
				const char *ns = namespaces[rnd(3)];
				unsigned op = rnd(10);

				(void)snprintf(name, sizeof(name), "svc%u", rnd(N_SVC_NAMES));
				(void)snprintf(slice_name, sizeof(slice_name), "%s-%u", name,
					       rnd(2));
				if (op < 4)
					assert_true(
					    kube_cache_put_service(
						cache, random_service(ns, name, version++)) >= 0);
				else if (op < 5)
					(void)kube_cache_delete_service(cache, ns, name);
				else if (op < 9)
					assert_true(kube_cache_put_slice(
							cache, random_slice(ns, slice_name, name,
									    version++)) >= 0);
				else
					(void)kube_cache_delete_slice(cache, ns, slice_name);
			}
			apply_changes(p, cache, &in);
			(void)snprintf(what, sizeof(what), "seed=%llu step=%u",
				       (unsigned long long)seeds[s], step);
			expect_same_as_build(p, &in, what);
			if (step % 50 == 49) {
				/* The node addresses move: everything is re-planned. */
				in.n_node_addrs = in.n_node_addrs == 2 ? 1 : 2;
				assert_true(plan_merge_update_all(p, &in) >= 0);
				(void)snprintf(what, sizeof(what), "seed=%llu step=%u update_all",
					       (unsigned long long)seeds[s], step);
				expect_same_as_build(p, &in, what);
			}
		}
		/* Everything deleted: the table empties. */
		for (unsigned i = 0; i < N_SVC_NAMES; i++)
			for (size_t n = 0; n < 3; n++) {
				char name[32];

				(void)snprintf(name, sizeof(name), "svc%u", i);
				(void)kube_cache_delete_service(cache, namespaces[n], name);
			}
		apply_changes(p, cache, &in);
		expect_same_as_build(p, &in, "all deleted");
		assert_int_equal(plan_merge_count_services(p), 0);
		p = plan_merge_free(p);
		cache = kube_cache_free(cache);
	}
	log_quiet(false);
}

static struct kube_service *clusterip_service(const char *name, unsigned last_octet,
					      unsigned version)
{
	struct kube_service *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	meta_set(&s->meta, "default", name, version);
	s->cluster_ips = calloc(1, sizeof(*s->cluster_ips));
	assert_non_null(s->cluster_ips);
	s->cluster_ips[0] = addr4(10, 96, 0, last_octet);
	s->n_cluster_ips = s->n_ip_families = 1;
	s->ip_families[0] = AF_INET;
	s->ports = calloc(1, sizeof(*s->ports));
	assert_non_null(s->ports);
	s->ports[0].name = xstrdup("");
	s->ports[0].port = 80;
	s->n_ports = 1;
	s->affinity_timeout = KUBE_AFFINITY_TIMEOUT_DEFAULT;
	return s;
}

/* What plan_merge_update() reports, case by case. */
static void test_update_reports_changes(void **state)
{
	struct kube_cache *cache = kube_cache_new();
	struct plan_merge *p = plan_merge_new();
	struct plan_input in = {.cache = cache, .node_name = "node-a"};
	struct plan_table view;

	(void)state;
	log_quiet(true);
	assert_int_equal(kube_cache_set_node_name(cache, "node-a"), 0);

	/* new Service */
	assert_int_equal(kube_cache_put_service(cache, clusterip_service("web", 1, 1)), 1);
	assert_int_equal(plan_merge_update(p, &in, "default/web"), 1);
	/* the same again (another resourceVersion, same fields) */
	assert_int_equal(kube_cache_put_service(cache, clusterip_service("web", 1, 2)), 0);
	assert_int_equal(plan_merge_update(p, &in, "default/web"), 0);
	/* a second Service on the same key loses: its own table has it, the merged one not */
	assert_int_equal(kube_cache_put_service(cache, clusterip_service("aaa", 1, 3)), 1);
	assert_int_equal(plan_merge_update(p, &in, "default/aaa"), 1);
	assert_int_equal(plan_merge_table(p, &view), 0);
	assert_int_equal(view.n_vs, 1);
	/* by name order "aaa" wins the ClusterIP tie */
	assert_string_equal(view.vs[0].svc_name, "aaa");
	/* the winner goes: the other Service's claim takes over without re-planning it */
	assert_int_equal(kube_cache_delete_service(cache, "default", "aaa"), 1);
	assert_int_equal(plan_merge_update(p, &in, "default/aaa"), 1);
	assert_int_equal(plan_merge_table(p, &view), 0);
	assert_int_equal(view.n_vs, 1);
	assert_string_equal(view.vs[0].svc_name, "web");
	/* an unknown key: nothing */
	assert_int_equal(plan_merge_update(p, &in, "default/nothing"), 0);
	assert_int_equal(plan_merge_update(p, &in, "no-slash"), 0);
	assert_int_equal(plan_merge_count_services(p), 1);
	plan_merge_free(p);
	kube_cache_free(cache);
	log_quiet(false);
}

/* The notes written since the last call. */
static const char *notes_take(struct test_notes *n)
{
	static char got[1024];

	assert_int_equal(fflush(n->stream), 0);
	(void)snprintf(got, sizeof(got), "%s", n->buf ? n->buf : "");
	rewind(n->stream);
	if (n->buf)
		n->buf[0] = '\0';
	return got;
}

/*
 * Conflicts are noted by the merge itself, for the daemon as for plan_build(): a Service that
 * arrives and beats another's claim makes the loser noted, though the loser did not change.
 */
static void test_conflict_notes(void **state)
{
	static const char lost[] = "conflict Service default/zzz: externalIP 10.96.0.1:80/TCP "
				   "already used by ClusterIP of default/web\n";
	struct kube_cache *cache = kube_cache_new();
	struct plan_merge *p = plan_merge_new();
	struct test_notes n = {0};
	struct plan_input in = {.cache = cache, .node_name = "node-a", .note = test_notes_on_note};
	struct plan_table full = {0};
	struct kube_service *zzz = clusterip_service("zzz", 2, 1);

	(void)state;
	n.stream = open_memstream(&n.buf, &n.size);
	assert_non_null(n.stream);
	in.note_userdata = &n;
	zzz->external_ips = calloc(1, sizeof(*zzz->external_ips));
	assert_non_null(zzz->external_ips);
	zzz->external_ips[0] = addr4(10, 96, 0, 1);
	zzz->n_external_ips = 1;

	assert_int_equal(kube_cache_put_service(cache, zzz), 1);
	assert_int_equal(plan_merge_update(p, &in, "default/zzz"), 1);
	assert_string_equal(notes_take(&n), "");
	/* web's ClusterIP takes zzz's externalIP key: zzz's claim is noted as lost */
	assert_int_equal(kube_cache_put_service(cache, clusterip_service("web", 1, 2)), 1);
	assert_int_equal(plan_merge_update(p, &in, "default/web"), 1);
	assert_string_equal(notes_take(&n), lost);
	/* plan_build() on the same cache notes the same, once */
	assert_true(plan_build(&in, &full) >= 0);
	assert_string_equal(notes_take(&n), lost);
	/* an unrelated Service changes: no conflict is noted again */
	assert_int_equal(kube_cache_put_service(cache, clusterip_service("other", 3, 3)), 1);
	assert_int_equal(plan_merge_update(p, &in, "default/other"), 1);
	assert_string_equal(notes_take(&n), "");
	/* re-planning everything with no change notes nothing either */
	assert_int_equal(plan_merge_update_all(p, &in), 0);
	assert_string_equal(notes_take(&n), "");

	plan_table_clear(&full);
	plan_merge_free(p);
	kube_cache_free(cache);
	fclose(n.stream);
	free(n.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_changes_equal_plan_build),
	    cmocka_unit_test(test_update_reports_changes),
	    cmocka_unit_test(test_conflict_notes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

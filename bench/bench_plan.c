/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark of the plan: a cache of 10 000 Services with 100 000 endpoints (one slice of ten
 * per Service), planned whole and one Service at a time. It prints the figures and fails when
 * a full plan takes a second or more, or when re-planning one Service costs clearly more in
 * the big cache than in a small one (the work must follow the change, not the cluster).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube_cache.h"
#include "kube_model.h"
#include "net_addr.h"
#include "plan.h"

#define ENDPOINTS_PER_SERVICE 10
#define REPLANS 2000

static double bench_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *bench_strdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fprintf(stderr, "bench_plan: out of memory\n");
		exit(1);
	}
	return d;
}

static void *bench_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "bench_plan: out of memory\n");
		exit(1);
	}
	return p;
}

static struct net_addr bench_v4(uint32_t v)
{
	struct net_addr a = { .family = AF_INET };

	a.bytes[0] = (uint8_t)(v >> 24);
	a.bytes[1] = (uint8_t)(v >> 16);
	a.bytes[2] = (uint8_t)(v >> 8);
	a.bytes[3] = (uint8_t)v;
	return a;
}

static void bench_meta(struct kube_meta *m, const char *ns, const char *name)
{
	m->namespace = bench_strdup(ns);
	m->name = bench_strdup(name);
	m->uid = bench_strdup(name);
	m->resource_version = bench_strdup("1");
}

/* Service i: a NodePort on 10.96.x.y:80 with one slice of ten endpoints on ten nodes. */
static void bench_add_service(struct kube_cache *cache, size_t i)
{
	struct kube_service *svc = bench_calloc(1, sizeof(*svc));
	struct kube_endpoint_slice *slice = bench_calloc(1, sizeof(*slice));
	char name[32], slice_name[40];

	(void)snprintf(name, sizeof(name), "svc-%zu", i);
	(void)snprintf(slice_name, sizeof(slice_name), "svc-%zu-abcde", i);
	bench_meta(&svc->meta, "bench", name);
	svc->type = KUBE_SVC_NODE_PORT;
	svc->cluster_ips = bench_calloc(1, sizeof(*svc->cluster_ips));
	svc->cluster_ips[0] = bench_v4((10u << 24) | (96u << 16) | (uint32_t)i);
	svc->n_cluster_ips = 1;
	svc->ip_families[0] = AF_INET;
	svc->n_ip_families = 1;
	svc->ports = bench_calloc(1, sizeof(*svc->ports));
	svc->ports[0].name = bench_strdup("http");
	svc->ports[0].proto = KUBE_PROTO_TCP;
	svc->ports[0].port = 80;
	/* The node port range holds 2768 ports; later Services are plain ClusterIPs. */
	svc->ports[0].node_port = i < 2768 ? (uint16_t)(30000 + i) : 0;
	svc->n_ports = 1;
	svc->affinity_timeout = KUBE_AFFINITY_TIMEOUT_DEFAULT;

	bench_meta(&slice->meta, "bench", slice_name);
	slice->service_name = bench_strdup(name);
	slice->family = AF_INET;
	slice->ports = bench_calloc(1, sizeof(*slice->ports));
	slice->ports[0].name = bench_strdup("http");
	slice->ports[0].proto = KUBE_PROTO_TCP;
	slice->ports[0].port = 8080;
	slice->n_ports = 1;
	slice->endpoints = bench_calloc(ENDPOINTS_PER_SERVICE, sizeof(*slice->endpoints));
	for (size_t e = 0; e < ENDPOINTS_PER_SERVICE; e++) {
		struct kube_endpoint *ep = &slice->endpoints[e];
		char node[16];

		ep->addr = bench_v4((10u << 24) | (1u << 20) |
				    (uint32_t)(i * ENDPOINTS_PER_SERVICE + e));
		ep->ready = e != 0;
		ep->serving = true;
		ep->terminating = e == 0;
		(void)snprintf(node, sizeof(node), "node-%zu", e);
		ep->node_name = bench_strdup(node);
	}
	slice->n_endpoints = ENDPOINTS_PER_SERVICE;
	if (kube_cache_put_service(cache, svc) < 0 || kube_cache_put_slice(cache, slice) < 0) {
		fprintf(stderr, "bench_plan: cache put failed\n");
		exit(1);
	}
}

/* Seconds per plan_service() of one Service, averaged over REPLANS runs. */
static double bench_replan_one(const struct plan_input *in, const struct kube_cache *cache,
			       const char *name)
{
	const struct kube_service *svc = kube_cache_get_service(cache, "bench", name);
	double t0 = bench_now();

	for (int r = 0; r < REPLANS; r++) {
		struct plan_table one = { 0 };

		if (!svc || plan_service(in, svc, &one) < 0) {
			fprintf(stderr, "bench_plan: plan_service failed\n");
			exit(1);
		}
		plan_table_clear(&one);
	}
	return (bench_now() - t0) / REPLANS;
}

static struct kube_cache *bench_cache(size_t n_services)
{
	struct kube_cache *cache = kube_cache_new();

	if (!cache || kube_cache_set_node_name(cache, "node-3") < 0) {
		fprintf(stderr, "bench_plan: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n_services; i++)
		bench_add_service(cache, i);
	return cache;
}

int main(void)
{
	struct net_addr node_addr = bench_v4((192u << 24) | (168u << 16) | 3);
	struct plan_input in = { .node_name = "node-3", .node_addrs = &node_addr,
				 .n_node_addrs = 1 };
	struct kube_cache *small = bench_cache(100);
	struct kube_cache *big = bench_cache(10000);
	struct plan_table table = { 0 };
	double t0, full, one_small, one_big;
	size_t n_dests = 0;
	int n;

	in.cache = big;
	t0 = bench_now();
	n = plan_build(&in, &table);
	full = bench_now() - t0;
	if (n < 0) {
		fprintf(stderr, "bench_plan: plan_build: %s\n", strerror(-n));
		return 1;
	}
	for (size_t i = 0; i < table.n_vs; i++)
		n_dests += table.vs[i].n_dests;
	plan_table_clear(&table);

	one_big = bench_replan_one(&in, big, "svc-42");
	in.cache = small;
	one_small = bench_replan_one(&in, small, "svc-42");

	printf("full plan: %zu Services, %zu endpoints -> %d virtual servers, %zu real servers "
	       "in %.1f ms\n",
	       kube_cache_count_services(big), kube_cache_count_services(big) *
	       ENDPOINTS_PER_SERVICE, n, n_dests, full * 1e3);
	printf("re-plan one Service: %.2f us among 10000 Services, %.2f us among 100\n",
	       one_big * 1e6, one_small * 1e6);

	small = kube_cache_free(small);
	big = kube_cache_free(big);
	if (full >= 1.0) {
		fprintf(stderr, "bench_plan: a full plan took %.2f s (limit 1 s)\n", full);
		return 1;
	}
	/* Generous: timing noise on a shared machine, cache effects of the larger table. */
	if (one_big > 5 * one_small + 20e-6) {
		fprintf(stderr, "bench_plan: one Service costs more in a bigger cluster\n");
		return 1;
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for health/health_local.c: the local ready endpoint count behind health-check node
 * ports (table-driven), node eligibility, and bind address parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "health.h"

/* One endpoint of a test slice: address, nodeName, ready, terminating. */
struct ep {
	const char *addr;
	const char *node;
	bool ready;
	bool terminating;
};

struct slice_def {
	const char *ns;
	const char *svc; /* kubernetes.io/service-name */
	int family;
	struct ep eps[4];
};

struct count_case {
	const char *name;
	int families[2];	/* spec.ipFamilies; 0 when absent */
	const char *cluster_ip; /* NULL: none */
	const char *node;
	struct slice_def slices[3];
	int want;
};

#define V4 AF_INET
#define V6 AF_INET6

static const struct count_case count_cases[] = {
    {"one ready pod on this node",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}}},
     1},
    {"pod on another node",
     {V4},
     "10.96.0.1",
     "node-b",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}}},
     0},
    {"only pod terminating",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", false, true}}}},
     0},
    {"ready and terminating (publishNotReadyAddresses) counts",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, true}}}},
     1},
    {"ready+terminating and ready pods count once per address",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default",
       "web",
       V4,
       {{"10.1.0.1", "node-a", true, true},
	{"10.1.0.2", "node-a", true, false},
	{"10.1.0.3", "node-a", false, true}}},
      {"default", "web", V4, {{"10.1.0.1", "node-a", true, true}}}},
     2},
    {"not ready, not terminating",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", false, false}}}},
     0},
    {"two local pods, one remote",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default",
       "web",
       V4,
       {{"10.1.0.1", "node-a", true, false},
	{"10.1.0.2", "node-a", true, false},
	{"10.1.0.3", "node-b", true, false}}}},
     2},
    {"same address in two slices (two ports) counts once",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}},
      {"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}}},
     1},
    {"secondary family not counted",
     {V4, V6},
     "10.96.0.1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}},
      {"default",
       "web",
       V6,
       {{"fd00::1", "node-a", true, false}, {"fd00::2", "node-a", true, false}}}},
     1},
    {"IPv6 primary",
     {V6, V4},
     "fd00:96::1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}},
      {"default",
       "web",
       V6,
       {{"fd00::1", "node-a", true, false}, {"fd00::2", "node-a", true, false}}}},
     2},
    {"no ipFamilies: family of the clusterIP",
     {0},
     "fd00:96::1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}},
      {"default", "web", V6, {{"fd00::1", "node-a", true, false}}}},
     1},
    {"no family known: every family",
     {0},
     NULL,
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}},
      {"default", "web", V6, {{"fd00::1", "node-a", true, false}}}},
     2},
    {"endpoint without nodeName",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default", "web", V4, {{"10.1.0.1", NULL, true, false}}}},
     0},
    {"slice of another Service",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"default", "other", V4, {{"10.1.0.1", "node-a", true, false}}}},
     0},
    {"slice in another namespace",
     {V4},
     "10.96.0.1",
     "node-a",
     {{"prod", "web", V4, {{"10.1.0.1", "node-a", true, false}}}},
     0},
    {"unknown node name",
     {V4},
     "10.96.0.1",
     NULL,
     {{"default", "web", V4, {{"10.1.0.1", "node-a", true, false}}}},
     0},
    {"no slices", {V4}, "10.96.0.1", "node-a", {{NULL}}, 0},
};

static void build_slice(const struct slice_def *def, struct kube_endpoint_slice *slice,
			struct kube_endpoint *eps)
{
	size_t n = 0;

	memset(slice, 0, sizeof(*slice));
	slice->meta.namespace = (char *)def->ns;
	slice->meta.name = (char *)"slice";
	slice->service_name = (char *)def->svc;
	slice->family = def->family;
	for (; n < 4 && def->eps[n].addr; n++) {
		memset(&eps[n], 0, sizeof(eps[n]));
		assert_int_equal(net_addr_parse(def->eps[n].addr, &eps[n].addr), 0);
		eps[n].ready = def->eps[n].ready;
		eps[n].serving = def->eps[n].ready || def->eps[n].terminating;
		eps[n].terminating = def->eps[n].terminating;
		eps[n].node_name = (char *)def->eps[n].node;
	}
	slice->endpoints = eps;
	slice->n_endpoints = n;
}

static void test_local_count(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(count_cases) / sizeof(count_cases[0]); i++) {
		const struct count_case *c = &count_cases[i];
		struct kube_service svc = {0};
		struct net_addr cip;
		struct kube_endpoint_slice slices[3];
		struct kube_endpoint eps[3][4];
		const struct kube_endpoint_slice *ptrs[3];
		size_t n = 0;
		int got;

		svc.meta.namespace = (char *)"default";
		svc.meta.name = (char *)"web";
		for (size_t f = 0; f < 2 && c->families[f]; f++)
			svc.ip_families[svc.n_ip_families++] = c->families[f];
		if (c->cluster_ip) {
			assert_int_equal(net_addr_parse(c->cluster_ip, &cip), 0);
			svc.cluster_ips = &cip;
			svc.n_cluster_ips = 1;
		}
		for (; n < 3 && c->slices[n].ns; n++) {
			build_slice(&c->slices[n], &slices[n], eps[n]);
			ptrs[n] = &slices[n];
		}
		got = health_local_endpoints_count(&svc, ptrs, n, c->node);
		if (got != c->want)
			fail_msg("case '%s': got %d want %d", c->name, got, c->want);
	}
}

static void test_node_eligible(void **state)
{
	static const struct {
		const char *name;
		bool deleting, to_be_deleted, want;
	} cases[] = {
	    {"plain node", false, false, true},
	    {"being deleted", true, false, false},
	    {"ToBeDeletedByClusterAutoscaler", false, true, false},
	    {"both", true, true, false},
	};

	(void)state;
	assert_true(health_node_is_eligible(NULL));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_node node = {.deleting = cases[i].deleting,
					 .to_be_deleted = cases[i].to_be_deleted};

		if (health_node_is_eligible(&node) != cases[i].want)
			fail_msg("case '%s': want %d", cases[i].name, cases[i].want);
	}
}

static void test_bind_parse(void **state)
{
	static const struct {
		const char *text;
		int want_err;
		const char *want_addr; /* NULL: unset (every address) */
		uint16_t want_port;
	} cases[] = {
	    {"0.0.0.0:10256", 0, "0.0.0.0", 10256},
	    {"127.0.0.1:10249", 0, "127.0.0.1", 10249},
	    {"127.0.0.1", 0, "127.0.0.1", 9999},
	    {"[::1]:8080", 0, "::1", 8080},
	    {"[::]", 0, "::", 9999},
	    {"fd00::5", 0, "fd00::5", 9999},
	    {":10256", 0, NULL, 10256},
	    {"", 0, NULL, 9999},
	    {"127.0.0.1:0", 0, "127.0.0.1", 0},
	    {"127.0.0.1:65536", -EINVAL, NULL, 0},
	    {"127.0.0.1:", -EINVAL, NULL, 0},
	    {"127.0.0.1:-1", -EINVAL, NULL, 0},
	    {"localhost:80", -EINVAL, NULL, 0},
	    {"[::1]x", -EINVAL, NULL, 0},
	    {"[10.0.0.1]:80", -EINVAL, NULL, 0},
	    {"[::1", -EINVAL, NULL, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net_addr addr = {.family = -1}, want = {0};
		uint16_t port = 1;
		char buf[NET_ADDR_STRLEN];
		int r = health_bind_parse(cases[i].text, 9999, &addr, &port);

		if (r != cases[i].want_err)
			fail_msg("case '%s': got %d want %d", cases[i].text, r, cases[i].want_err);
		if (r < 0) {
			if (addr.family != -1 || port != 1)
				fail_msg("case '%s': outputs written on failure", cases[i].text);
			continue;
		}
		if (cases[i].want_addr)
			assert_int_equal(net_addr_parse(cases[i].want_addr, &want), 0);
		if (!net_addr_equal(&addr, &want) || port != cases[i].want_port)
			fail_msg("case '%s': got %s port %u", cases[i].text,
				 addr.family ? net_addr_format(&addr, buf) : "(unset)", port);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local_count),
	    cmocka_unit_test(test_node_eligible),
	    cmocka_unit_test(test_bind_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

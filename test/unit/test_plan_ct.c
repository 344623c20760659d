/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the stale UDP conntrack set (lib/plan_ct.c): the matching rules one by one,
 * the set a table change builds, and a randomised comparison with the rule kipvs applied before
 * the set existed (one virtual server at a time, a linear scan of its real servers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_addr.h"
#include "plan.h"
#include "plan_ct.h"

static struct net_addr t_addr(const char *text)
{
	struct net_addr a;

	assert_int_equal(net_addr_parse(text, &a), 0);
	return a;
}

static struct plan_dest t_dest(const char *text, uint16_t port)
{
	return (struct plan_dest){.addr = t_addr(text), .port = port, .weight = 1};
}

/* A UDP entry from a client to dst:dport, answered by rs:rport (rs NULL: no reply tuple). */
static struct plan_ct_entry t_entry(const char *dst, uint16_t dport, const char *rs, uint16_t rport)
{
	struct plan_ct_entry e = {
	    .proto = IPPROTO_UDP, .orig_dst = t_addr(dst), .orig_dst_port = dport};

	e.family = e.orig_dst.family;
	if (rs) {
		e.reply_src = t_addr(rs);
		e.reply_src_port = rport;
	}
	return e;
}

static void test_rules(void **state)
{
	struct plan_dest keep[] = {t_dest("10.244.1.5", 5353), t_dest("10.244.2.5", 5353)};
	struct plan_dest keep6[] = {t_dest("fd00::5", 53)};
	struct plan_ct set = {0};
	struct plan_ct_entry e;

	(void)state;
	e = t_entry("10.96.0.10", 53, "10.244.9.9", 5353);
	assert_false(plan_ct_entry_is_stale(&set, &e)); /* empty set */

	{
		struct net_addr gone = t_addr("10.96.0.10"), kept = t_addr("10.96.0.20");
		struct net_addr v6 = t_addr("fd00:96::20");

		assert_int_equal(plan_ct_add(&set, &kept, 53, keep, 2), 0);
		assert_int_equal(plan_ct_add(&set, &gone, 53, NULL, 0), 0);
		assert_int_equal(plan_ct_add(&set, &v6, 53, keep6, 1), 0);
	}
	plan_ct_sort(&set);
	assert_true(plan_ct_has_family(&set, AF_INET));
	assert_true(plan_ct_has_family(&set, AF_INET6));

	/* A gone virtual server: every UDP entry to it, whoever answers, or none. */
	e = t_entry("10.96.0.10", 53, "10.244.1.5", 5353);
	assert_true(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.10", 53, NULL, 0);
	assert_true(plan_ct_entry_is_stale(&set, &e));
	/* ... but not another port, another address, TCP, or a mismatching family. */
	e = t_entry("10.96.0.10", 54, "10.244.9.9", 5353);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.11", 53, "10.244.9.9", 5353);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.10", 53, "10.244.9.9", 5353);
	e.proto = IPPROTO_TCP;
	assert_false(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.10", 53, "10.244.9.9", 5353);
	e.family = AF_INET6;
	assert_false(plan_ct_entry_is_stale(&set, &e));

	/* A changed virtual server: entries answered by a kept real server stay. */
	e = t_entry("10.96.0.20", 53, "10.244.1.5", 5353);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.20", 53, "10.244.2.5", 5353);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.20", 53, "10.244.1.5", 5354); /* the kept address, another port */
	assert_true(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.20", 53, "10.244.3.5", 5353);
	assert_true(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.20", 53, NULL, 0);
	assert_true(plan_ct_entry_is_stale(&set, &e));

	/* IPv6. */
	e = t_entry("fd00:96::20", 53, "fd00::5", 53);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("fd00:96::20", 53, "fd00::6", 53);
	assert_true(plan_ct_entry_is_stale(&set, &e));
	plan_ct_clear(&set);
	assert_int_equal(set.n_vs, 0);
	assert_false(plan_ct_has_family(&set, AF_INET));
}

/* The same key twice (two flushes before): stale when either would have deleted it. */
static void test_duplicate_key(void **state)
{
	struct plan_dest a[] = {t_dest("10.244.1.5", 53)}, b[] = {t_dest("10.244.2.5", 53)};
	struct plan_dest ab[] = {t_dest("10.244.1.5", 53), t_dest("10.244.2.5", 53)};
	struct net_addr vip = t_addr("10.96.0.10");
	struct plan_ct set = {0};
	struct plan_ct_entry e;

	(void)state;
	assert_int_equal(plan_ct_add(&set, &vip, 53, ab, 2), 0);
	assert_int_equal(plan_ct_add(&set, &vip, 53, a, 1), 0);
	plan_ct_sort(&set);
	e = t_entry("10.96.0.10", 53, "10.244.1.5", 53);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.10", 53, "10.244.2.5", 53); /* kept by the first, not by the second */
	assert_true(plan_ct_entry_is_stale(&set, &e));
	plan_ct_clear(&set);
	assert_int_equal(plan_ct_add(&set, &vip, 53, b, 1), 0);
	assert_int_equal(plan_ct_add(&set, &vip, 53, ab, 2), 0);
	plan_ct_sort(&set);
	e = t_entry("10.96.0.10", 53, "10.244.1.5", 53);
	assert_true(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.10", 53, "10.244.2.5", 53);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	plan_ct_clear(&set);
}

/* A UDP virtual server on port 53 with n real servers d. */
#define T_UDP53(a, d, n)                                                                           \
	{                                                                                          \
		.addr = t_addr(a), .proto = KUBE_PROTO_UDP, .port = 53, .dests = (d),              \
		.n_dests = (n)                                                                     \
	}

/* The set of a change: plan_fw_udp_stale()'s virtual servers with their real servers after. */
static void test_build(void **state)
{
	struct plan_dest d12[] = {t_dest("10.244.1.5", 53), t_dest("10.244.2.5", 53)};
	struct plan_dest d1[] = {t_dest("10.244.1.5", 53)};
	struct plan_vs before_vs[] = {T_UDP53("10.96.0.10", d12, 2), T_UDP53("10.96.0.11", d1, 1),
				      T_UDP53("10.96.0.12", d1, 1)};
	struct plan_vs after_vs[] = {T_UDP53("10.96.0.10", d1, 1), T_UDP53("10.96.0.12", d1, 1)};
	struct plan_table before = {.vs = before_vs, .n_vs = 3},
			  after = {.vs = after_vs, .n_vs = 2};
	struct plan_ct set = {.n_vs = 99};
	struct plan_ct_entry e;

	(void)state;
	assert_int_equal(plan_ct_build(NULL, &after, &set), 0);
	assert_int_equal(set.n_vs, 0);
	assert_int_equal(plan_ct_build(&before, &after, &set), 0);
	assert_int_equal(set.n_vs, 2); /* .10 lost a real server, .11 is gone, .12 is unchanged */
	e = t_entry("10.96.0.10", 53, "10.244.1.5", 53);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.10", 53, "10.244.2.5", 53);
	assert_true(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.11", 53, "10.244.1.5", 53);
	assert_true(plan_ct_entry_is_stale(&set, &e));
	e = t_entry("10.96.0.12", 53, "10.244.2.5", 53);
	assert_false(plan_ct_entry_is_stale(&set, &e));
	plan_ct_clear(&set);
}

/* The rule as ipvs_conntrack_udp_flush() applied it per virtual server before the set. */
static bool t_reference_is_stale(const struct net_addr *vips, const uint16_t *ports,
				 struct plan_dest *const *keeps, const size_t *n_keeps, size_t n,
				 const struct plan_ct_entry *e)
{
	for (size_t v = 0; v < n; v++) {
		bool kept = false;

		if (e->family != vips[v].family || e->proto != IPPROTO_UDP ||
		    !net_addr_equal(&e->orig_dst, &vips[v]) || e->orig_dst_port != ports[v])
			continue;
		for (size_t k = 0; k < n_keeps[v]; k++)
			if (e->reply_src.family &&
			    net_addr_equal(&e->reply_src, &keeps[v][k].addr) &&
			    e->reply_src_port == keeps[v][k].port)
				kept = true;
		if (!kept)
			return true;
	}
	return false;
}

/* Random sets and entries over a small address space (so that most lookups hit). */
static void test_random_against_reference(void **state)
{
	enum { N_VS = 200, N_KEEP = 6, N_ENTRIES = 20000 };
	static struct net_addr vips[N_VS];
	static uint16_t ports[N_VS];
	static struct plan_dest keep_store[N_VS][N_KEEP];
	struct plan_dest *keeps[N_VS];
	size_t n_keeps[N_VS];
	unsigned stale = 0, fresh = 0;

	(void)state;
	srand(12);
	for (int round = 0; round < 5; round++) {
		struct plan_ct set = {0};

		for (size_t v = 0; v < N_VS; v++) {
			vips[v] = (struct net_addr){.family = AF_INET,
						    .bytes = {10, 96, 0, (uint8_t)(rand() % 64)}};
			ports[v] = (uint16_t)(53 + rand() % 3);
			n_keeps[v] = (size_t)(rand() % N_KEEP);
			keeps[v] = keep_store[v];
			for (size_t k = 0; k < n_keeps[v]; k++)
				keep_store[v][k] = (struct plan_dest){
				    .addr = {.family = AF_INET,
					     .bytes = {10, 244, 0, (uint8_t)(rand() % 16)}},
				    .port = (uint16_t)(5353 + rand() % 2)};
			assert_int_equal(
			    plan_ct_add(&set, &vips[v], ports[v], keeps[v], n_keeps[v]), 0);
		}
		plan_ct_sort(&set);
		for (int i = 0; i < N_ENTRIES; i++) {
			struct plan_ct_entry e = {
			    .family = rand() % 50 ? AF_INET : AF_INET6,
			    .proto = rand() % 10 ? IPPROTO_UDP : IPPROTO_TCP,
			    .orig_dst = {.family = AF_INET,
					 .bytes = {10, 96, 0, (uint8_t)(rand() % 80)}},
			    .orig_dst_port = (uint16_t)(53 + rand() % 4),
			    .reply_src = {.family = AF_INET,
					  .bytes = {10, 244, 0, (uint8_t)(rand() % 16)}},
			    .reply_src_port = (uint16_t)(5353 + rand() % 2)};
			bool want, got;

			if (rand() % 20 == 0)
				e.reply_src = (struct net_addr){0};
			want = t_reference_is_stale(vips, ports, keeps, n_keeps, N_VS, &e);
			got = plan_ct_entry_is_stale(&set, &e);
			if (want != got) {
				char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];

				fail_msg("round %d entry %s -> %s:%u: reference %d, set %d", round,
					 net_addr_format_port(&e.orig_dst, e.orig_dst_port, a),
					 e.reply_src.family ? net_addr_format(&e.reply_src, b)
							    : "-",
					 e.reply_src_port, want, got);
			}
			stale += want;
			fresh += !want;
		}
		plan_ct_clear(&set);
	}
	/* Both answers must have come up often, or the comparison proves little. */
	assert_true(stale > 10000);
	assert_true(fresh > 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

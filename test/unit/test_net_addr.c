/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/net_addr.c: parsing, canonical printing, ordering, prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "net_addr.h"

static void test_parse_and_format(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *out;
	} cases[] = {
		{"10.0.162.149", 1, "10.0.162.149"},
		{"fd00:0:0::1", 1, "fd00::1"},
		{"::ffff:1.2.3.4", 1, "::ffff:1.2.3.4"},
		{"20", 0, NULL},
		{"10.0.0.256", 0, NULL},
		{"", 0, NULL},
		{"fe80::1%eth0", 0, NULL},
		{" 10.0.0.1", 0, NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net_addr a;
		char buf[NET_ADDR_STRLEN];
		int r = net_addr_parse(cases[i].in, &a);

		if (!cases[i].ok) {
			if (r >= 0)
				fail_msg("case %zu (%s): accepted", i, cases[i].in);
			continue;
		}
		if (r < 0)
			fail_msg("case %zu (%s): rejected", i, cases[i].in);
		assert_string_equal(net_addr_format(&a, buf), cases[i].out);
	}
}

static void test_format_port(void **state)
{
	struct net_addr a;
	char buf[NET_ADDR_STRLEN];

	(void)state;
	assert_int_equal(net_addr_parse("10.96.0.10", &a), 0);
	assert_string_equal(net_addr_format_port(&a, 53, buf), "10.96.0.10:53");
	assert_int_equal(net_addr_parse("fd00::a", &a), 0);
	assert_string_equal(net_addr_format_port(&a, 443, buf), "[fd00::a]:443");
}

static void test_compare_orders_v4_first(void **state)
{
	struct net_addr a, b, c;

	(void)state;
	assert_int_equal(net_addr_parse("10.0.0.2", &a), 0);
	assert_int_equal(net_addr_parse("10.0.0.10", &b), 0);
	assert_int_equal(net_addr_parse("::1", &c), 0);
	assert_true(net_addr_compare(&a, &b) < 0);
	assert_true(net_addr_compare(&b, &c) < 0);
	assert_true(net_addr_compare(&c, &a) > 0);
	assert_true(net_addr_equal(&a, &a));
}

static void test_prefix(void **state)
{
	struct net_prefix p;
	struct net_addr in, out;
	char buf[NET_ADDR_STRLEN];

	(void)state;
	assert_int_equal(net_prefix_parse("10.244.1.7/16", &p), 0);
	assert_int_equal(p.len, 16);
	assert_string_equal(net_addr_format(&p.addr, buf), "10.244.0.0");
	assert_int_equal(net_addr_parse("10.244.200.1", &in), 0);
	assert_int_equal(net_addr_parse("10.245.0.1", &out), 0);
	assert_true(net_prefix_contains(&p, &in));
	assert_false(net_prefix_contains(&p, &out));

	assert_int_equal(net_prefix_parse("fd00::/8", &p), 0);
	assert_false(net_prefix_contains(&p, &in));
	assert_int_equal(net_prefix_parse("1.2.3.4", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(net_prefix_parse("10.0.0.0/33", &p), -EINVAL);
	assert_int_equal(net_prefix_parse("10.0.0.0/", &p), -EINVAL);
	assert_int_equal(net_prefix_parse("10.0.0.0/8x", &p), -EINVAL);
	assert_int_equal(net_prefix_parse("bogus/8", &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_format_port),
		cmocka_unit_test(test_compare_orders_v4_first),
		cmocka_unit_test(test_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

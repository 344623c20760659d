/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for ipvs/ipvs_rules.c: `ipvsadm -R` lines in, the same lines out; bad lines refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_ipvs_util.h"

static void test_rules_roundtrip(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: same as in */
	} cases[] = {
	    {"-A -t 10.0.0.1:80 -s rr", NULL},
	    {"-A -u [fd00::1]:53 -s lc -p 60", NULL},
	    {"-A --sctp-service 10.0.0.1:3868 -s sh", NULL},
	    {"-A -t 10.0.0.1:80 -s rr -p", "-A -t 10.0.0.1:80 -s rr -p 300"},
	    {"-E -t 10.0.0.1:80 -s wrr", NULL},
	    {"-D -t 10.0.0.1:80", NULL},
	    {"-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 3", NULL},
	    {"-a -t 10.0.0.1:80 -r 10.1.0.1:8080", "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1"},
	    {"-e -u [fd00::1]:53 -r [fd00:1::2]:53 -m -w 0", NULL},
	    {"-d -t 10.0.0.1:80 -r 10.1.0.1:8080", NULL},
	    {"-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -g -w 1", NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ipvs_op op;
		char want[256], *got;

		if (ipvs_rules_parse_line(cases[i].in, &op) != 0)
			fail_msg("case %zu: cannot parse %s", i, cases[i].in);
		snprintf(want, sizeof(want), "%s\n", cases[i].out ? cases[i].out : cases[i].in);
		got = test_ops_text(&op, 1);
		test_assert_text(cases[i].in, got, want);
		free(got);
	}
}

static void test_rules_bad(void **state)
{
	static const char *const bad[] = {
	    "-A",
	    "-A -t 10.0.0.1 -s rr",
	    "-A -t 10.0.0.1:99999",
	    "-A -t 300.0.0.1:80",
	    "-A -t [fd00::1:80",
	    "-a -t 10.0.0.1:80",
	    "-A -t 10.0.0.1:80 -r 10.1.0.1:80",
	    "-A -a -t 10.0.0.1:80",
	    "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -w x",
	    "-A -t 10.0.0.1:80 --bogus",
	    "-A -t 10.0.0.1:80 -s",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ipvs_op op;

		if (ipvs_rules_parse_line(bad[i], &op) != -EINVAL)
			fail_msg("case %zu: accepted %s", i, bad[i]);
	}
}

static void test_rules_blank_and_to_plan(void **state)
{
	struct ipvs_oplist ops = {0};
	struct plan_table t = {0};
	struct ipvs_op op;

	(void)state;
	assert_int_equal(ipvs_rules_parse_line("   ", &op), 1);
	assert_int_equal(ipvs_rules_parse_line("# comment", &op), 1);
	assert_int_equal(ipvs_rules_parse("-a -t 10.0.0.1:80 -r 10.1.0.1:80\n", &ops), 0);
	assert_int_equal(ipvs_rules_to_plan(&ops, &t), -EINVAL); /* destination before service */
	ipvs_oplist_clear(&ops);
	assert_int_equal(ipvs_rules_parse("-A -t 10.0.0.2:80 -s rr\n-A -t 10.0.0.1:80 -s rr -p 60\n"
					  "-a -t 10.0.0.1:80 -r 10.1.0.2:80 -w 0\n"
					  "-a -t 10.0.0.1:80 -r 10.1.0.1:80\n",
					  &ops),
			 0);
	assert_int_equal(ipvs_rules_to_plan(&ops, &t), 0);
	assert_int_equal(t.n_vs, 2);
	assert_int_equal(t.vs[0].port, 80);
	assert_int_equal(t.vs[0].addr.bytes[3], 1); /* sorted */
	assert_true(t.vs[0].persistent);
	assert_int_equal(t.vs[0].timeout, 60);
	assert_int_equal(t.vs[0].n_dests, 2);
	assert_int_equal(t.vs[0].dests[0].addr.bytes[3], 1);
	assert_int_equal(t.vs[0].dests[1].weight, 0);
	plan_table_clear(&t);
	ipvs_oplist_clear(&ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_roundtrip),
	    cmocka_unit_test(test_rules_bad),
	    cmocka_unit_test(test_rules_blank_and_to_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

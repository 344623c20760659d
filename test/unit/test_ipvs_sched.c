/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ipvs/ipvs_sched.c against the fake kernel: the probe creates and deletes one
 * virtual server, never touches one that exists, and says exactly why when it cannot.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_ipvs_util.h"

#define FOREIGN                                                                                    \
	"-A -t 198.51.100.0:20000 -s wrr -p 60\n"                                                  \
	"-a -t 198.51.100.0:20000 -r 192.0.2.9:80 -g -w 5\n"

static void test_sched_probe_cases(void **state)
{
	static const struct {
		const char *name;
		const char *kernel; /* ipvsadm lines the fake kernel holds first */
		long fail_at;	    /* the op (0-based) the fake fails, -1: none */
		int fail_err;
		int want_r;
		const char *want_ops; /* what the fake saw */
		const char *want_err; /* the message, exactly ("": none) */
		const char *want_kernel; /* NULL: as it was */
	} cases[] = {
	    {"the kernel has it: created, then deleted", "", -1, 0, 0,
	     "-A -t 198.51.100.0:20000 -s mh\n-D -t 198.51.100.0:20000\n", ""},
	    {"an existing probe key is someone else's: left alone, the next one is used", FOREIGN,
	     -1, 0, 0,
	     "-A -t 198.51.100.0:20000 -s mh\n-A -t 198.51.100.0:20001 -s mh\n"
	     "-D -t 198.51.100.0:20001\n",
	     ""},
	    {"no such scheduler", "", 0, -ENOENT, -ENOPKG, "-A -t 198.51.100.0:20000 -s mh\n",
	     "the kernel has no IPVS scheduler mh: creating the probe virtual server "
	     "198.51.100.0:20000/tcp with it failed: No such file or directory (is there a module "
	     "ip_vs_mh?)"},
	    {"not root", "", 0, -EPERM, -EPERM, "-A -t 198.51.100.0:20000 -s mh\n",
	     "cannot probe IPVS scheduler mh: creating the probe virtual server "
	     "198.51.100.0:20000/tcp failed: Operation not permitted (run as root)"},
	    {"the delete fails: the message says how to delete it", "", 1, -ENOMEM, -ENOMEM,
	     "-A -t 198.51.100.0:20000 -s mh\n-D -t 198.51.100.0:20000\n",
	     "the probe virtual server 198.51.100.0:20000/tcp (scheduler mh) could not be deleted: "
	     "Cannot allocate memory; delete it by hand: ipvsadm -D -t 198.51.100.0:20000",
	     "-A -t 198.51.100.0:20000 -s mh\n"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ipvs_fake fake;
		struct ipvs_table want = {0};
		char err[512] = "", *got, *before, *after;
		int r;

		print_message("case: %s\n", cases[i].name);
		ipvs_fake_init(&fake);
		test_table_from_rules(cases[i].kernel, &fake.table);
		test_table_from_rules(cases[i].want_kernel ? cases[i].want_kernel : cases[i].kernel,
				      &want);
		before = test_table_text(&want);
		fake.fail_at = cases[i].fail_at;
		fake.fail_err = cases[i].fail_err;
		r = ipvs_sched_probe(&ipvs_fake_ops, &fake, "mh", err, sizeof(err));
		assert_int_equal(r, cases[i].want_r);
		got = test_ops_text(fake.log.ops, fake.log.n);
		test_assert_text(cases[i].name, got, cases[i].want_ops);
		assert_string_equal(err, cases[i].want_err);
		/* What was there before is there, as it was; the probe is gone unless stuck. */
		after = test_table_text(&fake.table);
		test_assert_text(cases[i].name, after, before);
		ipvs_table_clear(&want);
		free(got);
		free(before);
		free(after);
		ipvs_fake_clear(&fake);
	}
}

/* Every probe key taken: nothing is deleted and the message names the range. */
static void test_sched_probe_all_taken(void **state)
{
	struct ipvs_fake fake;
	char err[512] = "", *before, *after;

	(void)state;
	ipvs_fake_init(&fake);
	for (unsigned i = 0; i < IPVS_SCHED_PROBE_TRIES; i++) {
		struct ipvs_service svc = {.netmask = 0xffffffffu};

		ipvs_sched_probe_key(i, &svc.key);
		strcpy(svc.sched, "rr");
		assert_non_null(ipvs_table_put(&fake.table, &svc));
	}
	before = test_table_text(&fake.table);
	assert_int_equal(ipvs_sched_probe(&ipvs_fake_ops, &fake, "mh", err, sizeof(err)),
			 -EEXIST);
	assert_int_equal(fake.log.n, IPVS_SCHED_PROBE_TRIES);
	for (size_t i = 0; i < fake.log.n; i++) {
		assert_int_equal(fake.log.ops[i].kind, IPVS_OP_SERVICE_ADD);
		assert_int_equal(fake.log.ops[i].err, -EEXIST);
	}
	assert_string_equal(err, "cannot probe IPVS scheduler mh: the probe virtual servers "
				 "198.51.100.0:20000/tcp to 198.51.100.0:20007/tcp all exist and "
				 "are not kipvs's (198.51.100.0 is TEST-NET-2, for documentation "
				 "only; delete one)");
	after = test_table_text(&fake.table);
	test_assert_text("all taken: unchanged", after, before);
	free(before);
	free(after);
	ipvs_fake_clear(&fake);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sched_probe_cases),
	    cmocka_unit_test(test_sched_probe_all_taken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

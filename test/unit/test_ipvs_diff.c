/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ipvs/ipvs_diff.c: desired table against actual table gives exactly the
 * expected operations, as `ipvsadm -R` lines, case by case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_ipvs_util.h"

static bool owned_all(const struct ipvs_key *key, void *userdata)
{
	return true;
}

static bool owned_none(const struct ipvs_key *key, void *userdata)
{
	return false;
}

/* Owns only the services whose address is 10.0.0.x. */
static bool owned_10_0_0(const struct ipvs_key *key, void *userdata)
{
	return key->af == AF_INET && key->addr[0] == 10 && key->addr[1] == 0 && key->addr[2] == 0;
}

#define S1 "-A -t 10.0.0.1:80 -s rr\n"
#define S1_SET "-E -t 10.0.0.1:80 -s rr\n"
#define S1_R1 "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1\n"
#define S1_R2 "-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 1\n"

static void test_diff_cases(void **state)
{
	static const struct {
		const char *name;
		const char *actual;
		const char *desired;
		ipvs_owned_fn owned;
		const char *want;
	} cases[] = {
	    {"empty both", "", "", owned_all, ""},
	    {"unchanged is no op", S1 S1_R1 S1_R2, S1 S1_R1 S1_R2, owned_all, ""},
	    {"new virtual server: service, then its real servers", "", S1 S1_R1 S1_R2, owned_all,
	     S1 S1_R1 S1_R2},
	    {"changed weight is one SET_DEST", S1 S1_R1 S1_R2,
	     S1 S1_R1 "-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0\n", owned_all,
	     "-e -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0\n"},
	    {"weight 0 left by a crashed run is restored",
	     S1 "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 0\n", S1 S1_R1, owned_all,
	     "-e -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1\n"},
	    {"scheduler change is SET_SERVICE", S1 S1_R1, "-A -t 10.0.0.1:80 -s lc\n" S1_R1,
	     owned_all, "-E -t 10.0.0.1:80 -s lc\n"},
	    {"persistence added is SET_SERVICE", S1 S1_R1,
	     "-A -t 10.0.0.1:80 -s rr -p 10800\n" S1_R1, owned_all,
	     "-E -t 10.0.0.1:80 -s rr -p 10800\n"},
	    {"persistence timeout change", "-A -t 10.0.0.1:80 -s rr -p 10800\n",
	     "-A -t 10.0.0.1:80 -s rr -p 60\n", owned_all, "-E -t 10.0.0.1:80 -s rr -p 60\n"},
	    {"persistence removed", "-A -t 10.0.0.1:80 -s rr -p 10800\n", S1, owned_all,
	     S1_SET},
	    {"scheduler flags added is SET_SERVICE", "-A -t 10.0.0.1:80 -s mh\n" S1_R1,
	     "-A -t 10.0.0.1:80 -s mh -b mh-fallback,mh-port\n" S1_R1, owned_all,
	     "-E -t 10.0.0.1:80 -s mh -b mh-fallback,mh-port\n"},
	    {"one scheduler flag missing is SET_SERVICE", "-A -t 10.0.0.1:80 -s mh -b mh-port\n",
	     "-A -t 10.0.0.1:80 -s mh -b mh-fallback,mh-port\n", owned_all,
	     "-E -t 10.0.0.1:80 -s mh -b mh-fallback,mh-port\n"},
	    {"scheduler flags removed", "-A -t 10.0.0.1:80 -s rr -b flag-1\n", S1, owned_all, S1_SET},
	    {"scheduler flags and persistence unchanged is no op",
	     "-A -t 10.0.0.1:80 -s mh -p 60 -b mh-fallback,mh-port\n",
	     "-A -t 10.0.0.1:80 -s mh -p 60 -b mh-fallback,mh-port\n", owned_all, ""},
	    {"scheduler flag changed, persistence kept", "-A -t 10.0.0.1:80 -s sh -p 60 -b sh-port\n",
	     "-A -t 10.0.0.1:80 -s sh -p 60 -b sh-fallback\n", owned_all,
	     "-E -t 10.0.0.1:80 -s sh -p 60 -b sh-fallback\n"},
	    {"real server added", S1 S1_R1, S1 S1_R1 S1_R2, owned_all, S1_R2},
	    {"real server removed", S1 S1_R1 S1_R2, S1 S1_R2, owned_all,
	     "-d -t 10.0.0.1:80 -r 10.1.0.1:8080\n"},
	    {"real server forwarding other than masq is corrected",
	     S1 "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -g -w 1\n", S1 S1_R1, owned_all,
	     "-e -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1\n"},
	    {"owned virtual server removed", S1 S1_R1 "-A -u 10.0.0.2:53 -s rr\n", S1 S1_R1,
	     owned_all, "-D -u 10.0.0.2:53\n"},
	    {"foreign virtual server untouched",
	     S1 S1_R1 "-A -t 192.168.1.1:80 -s wrr\n"
		      "-a -t 192.168.1.1:80 -r 192.168.1.9:80 -g -w 5\n",
	     S1 S1_R1, owned_10_0_0, ""},
	    {"nothing owned: nothing deleted", S1 S1_R1, "", owned_none, ""},
	    {"deletes come last, in key order",
	     "-A -t 10.0.0.9:80 -s rr\n-A -t 10.0.0.3:80 -s rr\n", S1 S1_R1, owned_all,
	     S1 S1_R1 "-D -t 10.0.0.3:80\n-D -t 10.0.0.9:80\n"},
	    {"IPv6, UDP and SCTP", "",
	     "-A -u [fd00::10]:53 -s rr\n-a -u [fd00::10]:53 -r [fd00:1::5]:5353 -m -w 1\n"
	     "--sctp-service 10.0.0.5:3868 -A -s rr\n",
	     owned_all,
	     "-A --sctp-service 10.0.0.5:3868 -s rr\n-A -u [fd00::10]:53 -s rr\n"
	     "-a -u [fd00::10]:53 -r [fd00:1::5]:5353 -m -w 1\n"},
	    {"same address and port, other protocol, is another virtual server",
	     "-A -t 10.0.0.1:53 -s rr\n", "-A -t 10.0.0.1:53 -s rr\n-A -u 10.0.0.1:53 -s rr\n",
	     owned_all, "-A -u 10.0.0.1:53 -s rr\n"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ipvs_table actual = {0};
		struct plan_table desired = {0};
		struct ipvs_oplist ops = {0};
		char *got;

		test_table_from_rules(cases[i].actual, &actual);
		test_plan_from_rules(cases[i].desired, &desired);
		if (ipvs_diff_compute(&desired, &actual, cases[i].owned, NULL, &ops) < 0)
			fail_msg("case \"%s\": diff failed", cases[i].name);
		got = test_ops_text(ops.ops, ops.n);
		test_assert_text(cases[i].name, got, cases[i].want);
		free(got);
		ipvs_oplist_clear(&ops);
		plan_table_clear(&desired);
		ipvs_table_clear(&actual);
	}
}

/*
 * An endpoint flip costs one SET_DEST per virtual server it belongs to, whatever the number of
 * other Services.
 */
static void test_diff_endpoint_flip_scales(void **state)
{
	static const size_t others[] = {0, 10, 2000};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(others); c++) {
		char *rules = NULL, *want_rules = NULL;
		size_t len = 0, wlen = 0;
		FILE *f = open_memstream(&rules, &len), *w = open_memstream(&want_rules, &wlen);
		struct ipvs_table actual = {0};
		struct plan_table desired = {0};
		struct ipvs_oplist ops = {0};

		for (size_t i = 0; i < others[c]; i++) {
			fprintf(f, "-A -t 10.1.%zu.%zu:80 -s rr\n", i / 250, i % 250 + 1);
			fprintf(f, "-a -t 10.1.%zu.%zu:80 -r 10.200.0.1:80 -m -w 1\n", i / 250,
				i % 250 + 1);
			fprintf(w, "-A -t 10.1.%zu.%zu:80 -s rr\n", i / 250, i % 250 + 1);
			fprintf(w, "-a -t 10.1.%zu.%zu:80 -r 10.200.0.1:80 -m -w 1\n", i / 250,
				i % 250 + 1);
		}
		for (int port = 80; port < 83; port++) {
			fprintf(
			    f,
			    "-A -t 10.0.0.1:%d -s rr\n-a -t 10.0.0.1:%d -r 10.2.0.7:8080 -m -w 1\n",
			    port, port);
			fprintf(
			    w,
			    "-A -t 10.0.0.1:%d -s rr\n-a -t 10.0.0.1:%d -r 10.2.0.7:8080 -m -w 0\n",
			    port, port);
		}
		fclose(f);
		fclose(w);
		test_table_from_rules(rules, &actual);
		test_plan_from_rules(want_rules, &desired);
		assert_int_equal(ipvs_diff_compute(&desired, &actual, owned_all, NULL, &ops), 0);
		if (ops.n != 3)
			fail_msg("%zu other services: %zu ops, want 3", others[c], ops.n);
		for (size_t i = 0; i < ops.n; i++)
			assert_int_equal(ops.ops[i].kind, IPVS_OP_DEST_SET);
		ipvs_oplist_clear(&ops);
		plan_table_clear(&desired);
		ipvs_table_clear(&actual);
		free(rules);
		free(want_rules);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_diff_cases),
	    cmocka_unit_test(test_diff_endpoint_flip_scales),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
